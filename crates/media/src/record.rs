//! Recording calls to disk, when the deployment turns it on
//! ([`MediaConfig::recordings`](crate::MediaConfig::recordings)).
//!
//! Every track a participant publishes is written as it reaches the SFU, one
//! file per track, in a format common players and `ffmpeg` open as is: Opus
//! audio in Ogg (RFC 7845), VP8 and VP9 video in IVF, H.264 as an Annex B
//! byte stream. A simulcast track is recorded at its largest layer still
//! coming, switching on that layer's keyframe, as a viewer asking for the
//! large layer would get it. The files of a room are
//! `<dir>/<room>/<label>-<peer>-<mid>.<ext>`, `label` being the name the
//! signaling layer gave the participant when it joined.
//!
//! The driver picks the frames to keep (no I/O on its task); a thread of its
//! own writes them, behind a bounded queue, so a slow disk never holds up a
//! call. A frame the queue has no room for is dropped and counted, and a
//! video track then waits for a keyframe (which it asks for) so that the
//! file never holds a broken picture. A track is written to
//! `<name>.part`; its file is completed (frame count, end of stream, synced
//! to disk) and renamed to `<name>` when its publisher leaves or stops it,
//! and every file when the SFU shuts down.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use str0m::format::Codec;
use str0m::media::{MediaData, Rid};

use crate::PeerKey;
use crate::participant::{Layers, Timeline, TrackSource};
use crate::stats::Counters;

/// Frames waiting for the writer thread: about ten seconds of a 3-party
/// call's audio and video.
const QUEUE_FRAMES: usize = 4096;

/// What the driver does with each frame when recording is on.
pub(crate) struct Recorder {
    dir: PathBuf,
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The label each participant's files carry.
    labels: HashMap<PeerKey, String>,
    tracks: HashMap<TrackSource, Track>,
    counters: Arc<Counters>,
}

/// A recorded track, as the driver sees it.
#[derive(Default)]
struct Track {
    /// Its file was opened (with a keyframe first, for video).
    open: bool,
    /// Video: the next frame written must be a keyframe (at the start,
    /// after a dropped frame).
    needs_keyframe: bool,
    /// The simulcast layer being recorded.
    layer: Option<Rid>,
    /// The media times written, continuous across layer switches.
    timeline: Timeline,
}

/// What the driver hands the writer thread.
enum Job {
    Open { track: TrackSource, path: PathBuf, format: Format, hz: u32 },
    Frame { track: TrackSource, time: u64, data: Arc<[u8]> },
    Close { track: TrackSource },
}

/// The file format a codec is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    OggOpus,
    Ivf(&'static [u8; 4]),
    AnnexB,
}

impl Format {
    fn of(codec: Codec) -> Option<Format> {
        match codec {
            Codec::Opus => Some(Format::OggOpus),
            Codec::Vp8 => Some(Format::Ivf(b"VP80")),
            Codec::Vp9 => Some(Format::Ivf(b"VP90")),
            Codec::H264 => Some(Format::AnnexB),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::OggOpus => "ogg",
            Format::Ivf(_) => "ivf",
            Format::AnnexB => "h264",
        }
    }
}

/// A keyframe the recording needs of a track: of simulcast layer `rid`, or
/// of the plain stream (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyframeWanted(pub Option<Rid>);

impl Recorder {
    /// Starts the writer thread; files go under `dir`.
    pub fn start(dir: PathBuf, counters: Arc<Counters>) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(&dir)?;
        let (jobs, queue) = sync_channel(QUEUE_FRAMES);
        let thread = std::thread::Builder::new().name("sfu-recorder".into()).spawn(move || write_jobs(queue))?;
        tracing::info!(dir = %dir.display(), "calls are recorded");
        Ok(Recorder {
            dir,
            jobs: Some(jobs),
            thread: Some(thread),
            labels: HashMap::new(),
            tracks: HashMap::new(),
            counters,
        })
    }

    /// Names `peer`'s files with `label` (letters, digits, `-` and `_`
    /// only; anything else becomes `_`).
    pub fn label(&mut self, peer: PeerKey, label: &str) {
        self.labels.insert(peer, file_name_part(label));
    }

    /// A frame `from` published in `room`: records it, or says which
    /// keyframe the recording waits for.
    pub fn frame(
        &mut self,
        room: &str,
        from: PeerKey,
        data: &MediaData,
        layers: Option<&Layers>,
    ) -> Option<KeyframeWanted> {
        let format = Format::of(data.params.spec().codec)?;
        let source = TrackSource { peer: from, mid: data.mid };
        let video = format != Format::OggOpus;
        let track = self.tracks.entry(source).or_insert_with(|| Track { needs_keyframe: video, ..Track::default() });
        // A layer switch asks for a keyframe of the new layer while the old
        // one is still recorded.
        let mut switch_keyframe = None;
        if let (Some(rid), Some(layers)) = (data.rid, layers) {
            let step = layers.step(rid, data, crate::Quality::High, &mut track.layer, &mut track.timeline);
            switch_keyframe = step.keyframe.map(|rid| KeyframeWanted(Some(rid)));
            if !step.take {
                return switch_keyframe;
            }
        }
        if track.needs_keyframe {
            if !data.is_keyframe() {
                return Some(KeyframeWanted(data.rid));
            }
            track.needs_keyframe = false;
        }
        let jobs = self.jobs.as_ref()?;
        if !track.open {
            let label = self.labels.get(&from).map_or("peer", String::as_str);
            let name = format!("{label}-{from}-{}.{}", file_name_part(&data.mid.to_string()), format.extension());
            let path = self.dir.join(file_name_part(room)).join(name);
            let open = Job::Open { track: source, path, format, hz: data.time.frequency().get() };
            if jobs.try_send(open).is_err() {
                Counters::add(&self.counters.recording_frames_dropped, 1);
                track.needs_keyframe = video;
                return switch_keyframe;
            }
            track.open = true;
        }
        let time = track.timeline.map(data.time, data.network_time).numer();
        match jobs.try_send(Job::Frame { track: source, time, data: Arc::clone(&data.data) }) {
            Ok(()) => Counters::add(&self.counters.frames_recorded, 1),
            Err(TrySendError::Full(_)) => {
                Counters::add(&self.counters.recording_frames_dropped, 1);
                // The next frame would not decode without this one.
                track.needs_keyframe = video;
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("the recording thread has stopped; calls are no longer recorded");
                self.jobs = None;
            }
        }
        switch_keyframe
    }

    /// Completes the file of one track (its publisher stopped it).
    pub fn close_track(&mut self, source: TrackSource) {
        if let Some(track) = self.tracks.remove(&source)
            && track.open
            && let Some(jobs) = &self.jobs
        {
            // Waits for room: a file left without its end is worse than a
            // moment's wait, and the thread drains the queue quickly.
            let _ = jobs.send(Job::Close { track: source });
        }
    }

    /// Completes the files of every track `peer` published (it left).
    pub fn close_peer(&mut self, peer: PeerKey) {
        let sources: Vec<TrackSource> = self.tracks.keys().filter(|s| s.peer == peer).copied().collect();
        for source in sources {
            self.close_track(source);
        }
        self.labels.remove(&peer);
    }

    /// Completes every file and waits for the writer thread to end.
    pub fn finish(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the recording thread panicked; the last files may be incomplete");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `raw` with anything but ASCII letters, digits, `-` and `_` made `_`, so
/// that it is safe as a part of a file name (no `/`, no `..`).
fn file_name_part(raw: &str) -> String {
    let part: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if part.is_empty() { "_".into() } else { part }
}

/// The writer thread: runs the jobs until the driver lets go of the queue,
/// then completes the files still open.
fn write_jobs(queue: Receiver<Job>) {
    let mut files: HashMap<TrackSource, (PathBuf, Sink)> = HashMap::new();
    for job in queue {
        match job {
            Job::Open { track, path, format, hz } => {
                match unused(path).and_then(|p| Ok((Sink::create(&p, format, hz)?, p))) {
                    Ok((sink, path)) => {
                        tracing::info!(file = %path.display(), "recording a track");
                        files.insert(track, (path, sink));
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot record a track"),
                }
            }
            Job::Frame { track, time, data } => {
                let Some((path, sink)) = files.get_mut(&track) else { continue };
                if let Err(e) = sink.write(time, &data) {
                    tracing::warn!(file = %path.display(), error = %e, "recording a track failed; it stops here");
                    if let Some((path, sink)) = files.remove(&track) {
                        finish(&path, sink);
                    }
                }
            }
            Job::Close { track } => {
                if let Some((path, sink)) = files.remove(&track) {
                    finish(&path, sink);
                }
            }
        }
    }
    for (_, (path, sink)) in files.drain() {
        finish(&path, sink);
    }
}

/// `path`, or `<stem>-2.<ext>`, `-3`… when a file of that name is there
/// already, complete or not (a track stopped and started again on the same
/// m-line): a recording is never written over.
fn unused(path: PathBuf) -> std::io::Result<PathBuf> {
    let taken = |p: &Path| p.exists() || in_progress(p).exists();
    if !taken(&path) {
        return Ok(path);
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("track").to_owned();
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("bin").to_owned();
    (2..10_000)
        .map(|n| path.with_file_name(format!("{stem}-{n}.{ext}")))
        .find(|p| !taken(p))
        .ok_or_else(|| std::io::Error::other(format!("no free name for {}", path.display())))
}

/// Where a track is written until its file is complete: `<path>.part`.
fn in_progress(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// Completes the file and gives it its name, which says it is complete.
fn finish(path: &Path, sink: Sink) {
    match sink.finish().and_then(|frames| std::fs::rename(in_progress(path), path).map(|()| frames)) {
        Ok(frames) => tracing::info!(file = %path.display(), frames, "track recorded"),
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "completing a recording failed"),
    }
}

/// One open file.
enum Sink {
    Ogg(OggOpus),
    Ivf(Ivf),
    AnnexB { out: BufWriter<File>, frames: u64 },
}

impl Sink {
    fn create(path: &Path, format: Format, hz: u32) -> std::io::Result<Sink> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let out = BufWriter::new(File::create(in_progress(path))?);
        Ok(match format {
            Format::OggOpus => Sink::Ogg(OggOpus::start(out)?),
            Format::Ivf(fourcc) => Sink::Ivf(Ivf::start(out, fourcc, hz)?),
            Format::AnnexB => Sink::AnnexB { out, frames: 0 },
        })
    }

    fn write(&mut self, time: u64, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Ogg(ogg) => ogg.write(time, data),
            Sink::Ivf(ivf) => ivf.write(time, data),
            Sink::AnnexB { out, frames } => {
                *frames += 1;
                out.write_all(data)
            }
        }
    }

    /// Ends the file and syncs it to disk; returns the frames it holds.
    fn finish(self) -> std::io::Result<u64> {
        let (file, frames) = match self {
            Sink::Ogg(ogg) => ogg.finish()?,
            Sink::Ivf(ivf) => ivf.finish()?,
            Sink::AnnexB { out, frames } => (out.into_inner().map_err(|e| e.into_error())?, frames),
        };
        file.sync_all()?;
        Ok(frames)
    }
}

/// An IVF file: a 32-byte header, then each frame behind its size and
/// presentation time, in ticks of the RTP clock (90 kHz for video).
struct Ivf {
    out: BufWriter<File>,
    frames: u32,
    first: Option<u64>,
    size: Option<(u16, u16)>,
}

impl Ivf {
    fn start(mut out: BufWriter<File>, fourcc: &[u8; 4], hz: u32) -> std::io::Result<Ivf> {
        let mut header = [0u8; 32];
        header[0..4].copy_from_slice(b"DKIF");
        header[6..8].copy_from_slice(&32u16.to_le_bytes());
        header[8..12].copy_from_slice(fourcc);
        // Width and height (12..16) and the frame count (24..28) are
        // filled in when the file is completed.
        header[16..20].copy_from_slice(&hz.to_le_bytes());
        header[20..24].copy_from_slice(&1u32.to_le_bytes());
        out.write_all(&header)?;
        Ok(Ivf { out, frames: 0, first: None, size: None })
    }

    fn write(&mut self, time: u64, frame: &[u8]) -> std::io::Result<()> {
        let first = *self.first.get_or_insert(time);
        if self.size.is_none() {
            self.size = vp8_keyframe_size(frame);
        }
        let len = u32::try_from(frame.len()).map_err(|_| std::io::Error::other("a frame over 4 GiB"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&time.saturating_sub(first).to_le_bytes())?;
        self.out.write_all(frame)?;
        self.frames += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<(File, u64)> {
        self.out.flush()?;
        let (width, height) = self.size.unwrap_or((0, 0));
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(12))?;
        file.write_all(&width.to_le_bytes())?;
        file.write_all(&height.to_le_bytes())?;
        file.seek(SeekFrom::Start(24))?;
        file.write_all(&self.frames.to_le_bytes())?;
        Ok((file, u64::from(self.frames)))
    }
}

/// The picture size a VP8 keyframe starts with (RFC 6386, 9.1), if `frame`
/// is one.
fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    let keyframe = frame.first()? & 1 == 0;
    if !keyframe || frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes(frame.get(6..8)?.try_into().ok()?) & 0x3fff;
    let height = u16::from_le_bytes(frame.get(8..10)?.try_into().ok()?) & 0x3fff;
    Some((width, height))
}

/// Opus in Ogg (RFC 7845): the identification and comment headers, then one
/// audio packet per page, each page's granule position the 48 kHz sample
/// count at the end of its packet. The last packet is held back so that its
/// page can carry the end-of-stream flag.
struct OggOpus {
    out: BufWriter<File>,
    serial: u32,
    sequence: u32,
    first: Option<u64>,
    granule: u64,
    held: Option<(Vec<u8>, u64)>,
    packets: u64,
}

const OGG_CONTINUED: u8 = 0x01;
const OGG_FIRST: u8 = 0x02;
const OGG_LAST: u8 = 0x04;

impl OggOpus {
    fn start(out: BufWriter<File>) -> std::io::Result<OggOpus> {
        // Any number tells this stream apart from others in the file; there
        // are none, but players like it not to be zero.
        let serial = 0x5348_5747;
        let mut ogg = OggOpus { out, serial, sequence: 0, first: None, granule: 0, held: None, packets: 0 };
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(2); // channels: WebRTC's Opus may be stereo; mono decodes as both
        head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip: none, the call was already going
        head.extend_from_slice(&48_000u32.to_le_bytes()); // the input's rate, for information
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0: mono or stereo
        ogg.page(&head, 0, OGG_FIRST)?;
        let vendor = b"shouwang";
        let mut tags = Vec::with_capacity(24);
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes()); // no comments
        ogg.page(&tags, 0, 0)?;
        Ok(ogg)
    }

    fn write(&mut self, time: u64, packet: &[u8]) -> std::io::Result<()> {
        let first = *self.first.get_or_insert(time);
        // A gap in the times (the sender paused) is kept as a gap; a time
        // going back is taken as following on.
        let start = time.saturating_sub(first).max(self.granule);
        self.granule = start + opus_samples(packet);
        if let Some((held, granule)) = self.held.replace((packet.to_vec(), self.granule)) {
            self.page(&held, granule, 0)?;
        }
        self.packets += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<(File, u64)> {
        if let Some((held, granule)) = self.held.take() {
            self.page(&held, granule, OGG_LAST)?;
        }
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok((file, self.packets))
    }

    /// Writes `packet` as a page of its own.
    fn page(&mut self, packet: &[u8], granule: u64, flags: u8) -> std::io::Result<()> {
        // The lacing values: as many 255s as fit, then the rest (0 when the
        // packet is a multiple of 255 long, so that it ends on this page).
        let full = packet.len() / 255;
        if full >= 255 {
            return Err(std::io::Error::other("an audio packet over 64 KiB"));
        }
        let mut page = Vec::with_capacity(27 + full + 1 + packet.len());
        page.extend_from_slice(b"OggS");
        page.push(0); // version
        page.push(flags & (OGG_CONTINUED | OGG_FIRST | OGG_LAST));
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&self.serial.to_le_bytes());
        page.extend_from_slice(&self.sequence.to_le_bytes());
        page.extend_from_slice(&[0; 4]); // the checksum, below
        page.push((full + 1) as u8);
        page.extend(std::iter::repeat_n(255u8, full));
        page.push((packet.len() % 255) as u8);
        page.extend_from_slice(packet);
        let crc = ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        self.out.write_all(&page)?;
        self.sequence += 1;
        Ok(())
    }
}

/// The 48 kHz samples an Opus packet holds, from its first byte (RFC 6716,
/// 3.1): the frame size its configuration says, times the frame count.
fn opus_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else { return 0 };
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |count| u64::from(count & 0x3f)),
    };
    frame * frames
}

/// Ogg's page checksum: CRC-32 with polynomial 0x04c11db7, not reflected,
/// starting from zero, over the page with its checksum field zeroed.
fn ogg_crc(page: &[u8]) -> u32 {
    static TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut r = (i as u32) << 24;
            let mut bit = 0;
            while bit < 8 {
                r = if r & 0x8000_0000 != 0 { (r << 1) ^ 0x04c1_1db7 } else { r << 1 };
                bit += 1;
            }
            table[i] = r;
            i += 1;
        }
        table
    };
    page.iter().fold(0u32, |crc, &b| (crc << 8) ^ TABLE[((crc >> 24) as u8 ^ b) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_packets_count_their_samples_from_the_first_byte() {
        // CELT, 20 ms, one frame (what the SFU tests send).
        assert_eq!(opus_samples(&[0xfc, 1, 2]), 960);
        // SILK, 60 ms, one frame.
        assert_eq!(opus_samples(&[0x18]), 2880);
        // Hybrid 20 ms, two frames.
        assert_eq!(opus_samples(&[0x79]), 1920);
        // CELT 2.5 ms, a count of 3 frames in the second byte.
        assert_eq!(opus_samples(&[0x83, 0x03]), 360);
        assert_eq!(opus_samples(&[]), 0);
    }

    #[test]
    fn the_ogg_checksum_is_the_one_of_the_specification() {
        // The CRC-32/MPEG-2 check value has init 0xffffffff; Ogg's variant
        // starts from 0 (CRC-32/OGG): "123456789" gives 0x89a1897f.
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_name_part("u7"), "u7");
        assert_eq!(file_name_part("../etc/passwd"), "___etc_passwd");
        assert_eq!(file_name_part("张三"), "__");
        assert_eq!(file_name_part(""), "_");
    }

    #[test]
    fn a_track_started_again_gets_a_file_of_its_own() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos();
        let dir = std::env::temp_dir().join(format!("shouwang-unused-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let path = dir.join("u1-7-0.ogg");
        assert_eq!(unused(path.clone()).expect("a name"), path);
        std::fs::write(&path, b"done").expect("a file");
        assert_eq!(unused(path.clone()).expect("a name"), dir.join("u1-7-0-2.ogg"));
        std::fs::write(in_progress(&dir.join("u1-7-0-2.ogg")), b"going").expect("a file");
        assert_eq!(unused(path).expect("a name"), dir.join("u1-7-0-3.ogg"));
        std::fs::remove_dir_all(&dir).expect("the scratch folder is removed");
    }

    #[test]
    fn a_vp8_keyframe_gives_its_picture_size() {
        let mut frame = vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a];
        frame.extend_from_slice(&640u16.to_le_bytes());
        frame.extend_from_slice(&(480u16 | 0x4000).to_le_bytes()); // a scaling bit
        assert_eq!(vp8_keyframe_size(&frame), Some((640, 480)));
        frame[0] |= 1; // an interframe
        assert_eq!(vp8_keyframe_size(&frame), None);
    }
}
