//! Calls recorded to disk: each published track to a file a player opens,
//! holding every frame in order with its timing, complete once the SFU has
//! shut down. (The browser test plays real VP8 and Opus recordings through
//! ffprobe; here the frames carry their sender and number, so the files can
//! be checked frame by frame.)

use std::path::{Path, PathBuf};

use shouwang_media::MediaConfig;

use crate::helpers::spawn_call_with;

/// A fresh folder under the system's temporary one.
fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos();
    std::env::temp_dir().join(format!("shouwang-{name}-{}-{nanos}", std::process::id()))
}

/// The one file in `dir` whose name starts with `prefix` and ends with `ext`.
fn file(dir: &Path, prefix: &str, ext: &str) -> Vec<u8> {
    let names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the room's folder exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(ext)
        })
        .collect();
    assert_eq!(names.len(), 1, "one {prefix}…{ext} in {}", dir.display());
    std::fs::read(&names[0]).expect("a readable recording")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("two bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, starting from 0),
/// bit by bit.
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in bytes {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

/// An Ogg page: its flags, granule position and packet (one per page).
struct Page {
    flags: u8,
    granule: u64,
    packet: Vec<u8>,
}

/// Splits an Ogg file into its pages, checking each one's framing,
/// sequence number and checksum.
fn ogg_pages(file: &[u8]) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut at = 0;
    while at < file.len() {
        assert_eq!(&file[at..at + 4], b"OggS", "a page starts at {at}");
        let segments = usize::from(file[at + 26]);
        let lacing = &file[at + 27..at + 27 + segments];
        let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let end = at + 27 + segments + body;
        let mut page = file[at..end].to_vec();
        let crc = u32_at(&page, 22);
        page[22..26].fill(0);
        assert_eq!(ogg_crc(&page), crc, "page {} checksum", pages.len());
        assert_eq!(u32_at(file, at + 18) as usize, pages.len(), "page sequence number");
        pages.push(Page {
            flags: file[at + 5],
            granule: u64_at(file, at + 6),
            packet: file[at + 27 + segments..end].to_vec(),
        });
        at = end;
    }
    pages
}

#[tokio::test]
async fn a_recorded_call_leaves_each_track_in_a_playable_file_with_every_frame_in_order() {
    let dir = scratch_dir("recordings");
    let mut config = MediaConfig::new("127.0.0.1:0".parse().expect("a literal address"));
    config.recordings = Some(dir.clone());
    let call = spawn_call_with(config).await;
    let mut a = call.join("call/../7", 91).await;
    let mut b = call.join("call/../7", 92).await;
    b.wait_for_frames_from(&[a.key], 30).await;
    a.wait_for_frames_from(&[b.key], 30).await;
    call.sfu.shutdown().await;
    let stats = call.sfu.stats();
    assert!(stats.frames_recorded >= 120, "{stats:?}");
    assert_eq!(stats.recording_frames_dropped, 0);

    // The room's name cannot lead out of the folder.
    let room = dir.join("call____7");
    for key in [a.key, b.key] {
        let label = format!("b{key}-{key}-");
        let key_bytes = key.0.to_le_bytes();

        // VP8 in IVF: the header, then every frame from the first keyframe
        // on, numbered one after the other (the test's browsers send every
        // other tick's number), 40 ms apart at 90 kHz.
        let ivf = file(&room, &label, ".ivf");
        assert_eq!(&ivf[0..4], b"DKIF");
        assert_eq!(u16_at(&ivf, 6), 32, "header size");
        assert_eq!(&ivf[8..12], b"VP80");
        assert_eq!(u32_at(&ivf, 16), 90_000, "time base");
        let mut at = 32;
        let mut frames = Vec::new();
        while at < ivf.len() {
            let size = u32_at(&ivf, at) as usize;
            let pts = u64_at(&ivf, at + 4);
            let frame = &ivf[at + 12..at + 12 + size];
            assert_eq!(frame[1..9], key_bytes, "each frame is the publisher's own");
            frames.push((u64_at(frame, 9), pts, frame[0] & 1 == 0));
            at += 12 + size;
        }
        assert_eq!(u32_at(&ivf, 24) as usize, frames.len(), "the header counts the frames");
        assert!(frames.len() >= 30, "{} video frames", frames.len());
        assert!(frames[0].2, "the file starts with a keyframe");
        let first = frames[0].0;
        for (i, (number, pts, _)) in frames.iter().enumerate() {
            assert_eq!(*number, first + 2 * i as u64, "video frame {i} follows on");
            assert_eq!(*pts, (number - first) * 1800, "video frame {i} keeps its time");
        }

        // Opus in Ogg: the two headers, then one packet per page, the
        // granule position counting 960 samples per 20 ms packet; the last
        // page ends the stream.
        let pages = ogg_pages(&file(&room, &label, ".ogg"));
        assert!(pages.len() >= 2 + 60, "{} pages", pages.len());
        assert_eq!(pages[0].flags, 0x02, "the first page begins the stream");
        assert_eq!(&pages[0].packet[..8], b"OpusHead");
        assert_eq!(&pages[1].packet[..8], b"OpusTags");
        let audio = &pages[2..];
        let first = u64_at(&audio[0].packet, 9);
        for (i, page) in audio.iter().enumerate() {
            assert_eq!(page.packet[1..9], key_bytes);
            assert_eq!(u64_at(&page.packet, 9), first + i as u64, "audio packet {i} follows on");
            assert_eq!(page.granule, (i as u64 + 1) * 960, "audio packet {i}'s granule position");
        }
        assert_eq!(audio.last().map(|p| p.flags), Some(0x04), "the last page ends the stream");
    }
    std::fs::remove_dir_all(&dir).expect("the scratch folder is removed");
}

#[tokio::test]
async fn a_recording_folder_that_cannot_be_made_stops_the_sfu_from_starting() {
    let dir = scratch_dir("not-a-folder");
    std::fs::write(&dir, b"a file where the folder should be").expect("a scratch file");
    let mut config = MediaConfig::new("127.0.0.1:0".parse().expect("a literal address"));
    config.recordings = Some(dir.join("calls"));
    let refused = shouwang_media::Sfu::start(config).await.map(|_| ()).expect_err("no SFU without its recordings");
    assert!(refused.to_string().contains("cannot record calls in"), "{refused}");
    std::fs::remove_file(&dir).expect("the scratch file is removed");
}
