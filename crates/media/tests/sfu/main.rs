//! The SFU against str0m "browsers" over real UDP (and TCP, for ICE-TCP) on
//! loopback: ICE, DTLS and SRTP as a browser would do them, and media
//! forwarded between them.

mod helpers;
mod recording;

use std::time::Duration;

use helpers::{BrowserOffer, PATIENCE, spawn_call, spawn_call_with};
use shouwang_media::{LeftReason, MAX_PEERS_PER_ROOM, MediaConfig, MediaError, PeerKey, SfuEvent, SfuStats};
use str0m::media::{Direction, MediaKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

#[tokio::test]
async fn two_participants_receive_each_other_on_tracks_labelled_with_the_sender() {
    let call = spawn_call().await;
    let mut a = call.join("room-1", 1).await;
    let mut b = call.join("room-1", 2).await;

    let at_b = b.wait_for_frames_from(&[a.key], 20).await;
    let at_a = a.wait_for_frames_from(&[b.key], 20).await;

    for tally in [&at_a, &at_b] {
        assert_eq!(tally.mislabelled, 0, "every frame arrives on its sender's stream");
        assert_eq!(tally.frames.len(), 2, "one audio and one video track: {tally:?}");
        assert!(tally.keyframe_requests >= 1, "a new subscriber asks for a keyframe");
    }
    let stats = call.sfu.stats();
    assert_eq!((stats.rooms, stats.peers), (1, 2));
    assert!(stats.frames_forwarded >= 80, "{stats:?}");
    assert!(stats.bytes_forwarded > 0 && stats.packets_sent > 0, "{stats:?}");
}

#[tokio::test]
async fn three_participants_each_receive_the_other_two() {
    let call = spawn_call().await;
    let mut a = call.join("room-3", 11).await;
    let mut b = call.join("room-3", 12).await;
    let mut c = call.join("room-3", 13).await;
    // A different room is not heard.
    let mut d = call.join("elsewhere", 14).await;

    let at_a = a.wait_for_frames_from(&[b.key, c.key], 15).await;
    let at_b = b.wait_for_frames_from(&[a.key, c.key], 15).await;
    let at_c = c.wait_for_frames_from(&[a.key, b.key], 15).await;

    for tally in [&at_a, &at_b, &at_c] {
        assert_eq!(tally.mislabelled, 0);
        assert_eq!(tally.frames.len(), 4, "two tracks from each of two others: {tally:?}");
    }
    let alone = d.wait_until("connecting", |t| t.connected).await;
    assert!(alone.frames.is_empty(), "nothing crosses rooms: {alone:?}");
    assert_eq!(call.sfu.stats().rooms, 2);
}

#[tokio::test]
async fn a_silent_participant_is_reported_gone_and_the_others_carry_on() {
    let mut call = spawn_call().await;
    let mut a = call.join("room-s", 21).await;
    let mut b = call.join("room-s", 22).await;
    let c = call.join("room-s", 23).await;
    a.wait_for_frames_from(&[b.key, c.key], 10).await;
    b.wait_for_frames_from(&[a.key, c.key], 10).await;

    let offers_before = (a.tally().offers, b.tally().offers);
    c.go_silent();
    let left = call.wait_for_event(|e| matches!(e, SfuEvent::Left { .. })).await;
    assert_eq!(left, SfuEvent::Left { peer: c.key, room: "room-s".into(), reason: LeftReason::Timeout });

    // C's tracks are taken down by a new offer to each of the others, and
    // they keep hearing each other.
    a.wait_until("an offer stopping C's tracks", |t| t.offers > offers_before.0).await;
    b.wait_until("an offer stopping C's tracks", |t| t.offers > offers_before.1).await;
    a.wait_for_frames_from(&[b.key], 20).await;
    b.wait_for_frames_from(&[a.key], 20).await;
    assert_eq!(call.sfu.stats().peers, 2);
}

#[tokio::test]
async fn bad_offers_and_a_full_room_are_refused() {
    let call = spawn_call().await;

    for garbage in ["", "hello", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"] {
        let refused = call.sfu.join("room-b", PeerKey(99), "p", garbage.into()).await;
        assert!(matches!(refused, Err(MediaError::BadSdp(_))), "{garbage:?} gave {refused:?}");
    }

    for key in 0..MAX_PEERS_PER_ROOM as u64 {
        let offer = BrowserOffer::new(Direction::SendOnly).await;
        call.sfu.join("room-b", PeerKey(100 + key), "p", offer.sdp).await.expect("a room takes sixteen");
    }
    let offer = BrowserOffer::new(Direction::SendOnly).await;
    let seventeenth = call.sfu.join("room-b", PeerKey(200), "p", offer.sdp.clone()).await;
    assert_eq!(seventeenth, Err(MediaError::TooManyInRoom));
    let again = call.sfu.join("room-c", PeerKey(100), "p", offer.sdp.clone()).await;
    assert_eq!(again, Err(MediaError::AlreadyJoined));
    let stranger = call.sfu.answer(PeerKey(7), offer.sdp.clone()).await;
    assert_eq!(stranger, Err(MediaError::UnknownPeer));
    let unasked = call.sfu.answer(PeerKey(100), "v=0".into()).await;
    assert!(matches!(unasked, Err(MediaError::BadSdp(_))), "{unasked:?}");
    let stats = call.sfu.stats();
    assert_eq!((stats.rooms, stats.peers), (1, 16));
}

#[tokio::test]
async fn garbage_datagrams_are_dropped_and_counted_without_disturbing_a_call() {
    let call = spawn_call().await;
    let mut a = call.join("room-g", 31).await;
    let mut b = call.join("room-g", 32).await;
    a.wait_for_frames_from(&[b.key], 10).await;
    b.wait_for_frames_from(&[a.key], 10).await;

    let stranger = UdpSocket::bind("127.0.0.1:0").await.expect("a loopback port");
    let sfu = call.sfu.local_addr();
    let garbage: [&[u8]; 5] = [
        &[0xff; 40],
        &[],
        // STUN-shaped, with a username nobody has.
        &[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        // RTP-shaped.
        &[0x80, 0x6f, 0x00, 0x01, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4],
        // DTLS-shaped.
        &[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3],
    ];
    let dropped_before = call.sfu.stats().packets_dropped;
    for datagram in garbage {
        stranger.send_to(datagram, sfu).await.expect("loopback takes it");
    }
    // The same from a participant's own address, where it reaches its Rtc.
    for datagram in garbage {
        a.send_raw(datagram.to_vec());
    }

    let counted = dropped_before + garbage.len() as u64;
    wait_for_stats(&call, "the garbage to be counted", |s| s.packets_dropped >= counted).await;
    let at_a = a.wait_for_frames_from(&[b.key], 20).await;
    let at_b = b.wait_for_frames_from(&[a.key], 20).await;
    assert_eq!(at_a.mislabelled + at_b.mislabelled, 0);
    assert!(at_b.from(a.key, MediaKind::Video) > 0);
    assert_eq!(call.sfu.stats().peers, 2);
}

#[tokio::test]
async fn the_answer_is_ice_lite_with_udp_and_tcp_host_candidates_and_a_passive_dtls_role() {
    let call = spawn_call().await;
    let offer = BrowserOffer::new(Direction::SendOnly).await;
    let answer = call.sfu.join("room-a", PeerKey(41), "p", offer.sdp).await.expect("a good offer is answered");

    let port = call.sfu.local_addr().port();
    assert!(answer.contains("a=ice-lite"), "{answer}");
    // Two host candidates on the same port: UDP, and ICE-TCP below it in
    // priority, for browsers that cannot use UDP.
    let candidate = |proto: &str| {
        let line = answer.lines().find(|l| l.starts_with("a=candidate:") && l.contains(&format!(" {proto} ")));
        let fields: Vec<String> = line.expect(proto).split(' ').map(str::to_owned).collect();
        let priority: u64 = fields[3].parse().expect("a numeric priority");
        (priority, fields[4..].join(" "))
    };
    let (udp_priority, udp) = candidate("udp");
    let (tcp_priority, tcp) = candidate("tcp");
    assert!(udp.starts_with(&format!("127.0.0.1 {port} typ host ")), "{answer}");
    assert!(tcp.starts_with(&format!("127.0.0.1 {port} typ host tcptype passive ")), "{answer}");
    assert!(tcp_priority < udp_priority, "{answer}");
    assert!(answer.contains("a=setup:passive"), "{answer}");
    assert!(answer.contains("a=recvonly"), "the browser's tracks are received: {answer}");
    assert!(answer.contains("opus/48000") && answer.contains("VP8/90000"), "{answer}");
}

#[tokio::test]
async fn an_ice_restart_waits_for_the_servers_offer_to_be_answered_then_goes_through() {
    let mut call = spawn_call().await;
    let mut a = call.join("room-r", 51).await;
    let mut m = call.join_unanswered("room-r", 52, Direction::SendOnly).await;
    // Once M is connected the SFU offers it A's tracks; M holds that offer.
    let held = call.wait_for_event(|e| matches!(e, SfuEvent::Offer { peer, .. } if *peer == m.key)).await;
    let SfuEvent::Offer { sdp: held, .. } = held else { unreachable!("the event picked is an offer") };

    let restart = m.ice_restart().await;
    let glare = call.sfu.renegotiate(m.key, restart).await;
    assert_eq!(glare, Err(MediaError::OfferPending));

    // The browser, the polite side, takes the server's offer instead.
    let answer = m.answer(held).await;
    call.sfu.answer(m.key, answer).await.expect("the answer fits");
    call.answer_offers(&m);
    m.wait_for_frames_from(&[a.key], 10).await;

    let restart = m.ice_restart().await;
    let answer =
        call.sfu.renegotiate(m.key, restart).await.expect("with no offer outstanding, a renegotiation is answered");
    m.apply_answer(answer.clone());
    m.wait_for_frames_from(&[a.key], 25).await;
    a.wait_for_frames_from(&[m.key], 25).await;

    let unasked = call.sfu.answer(m.key, answer).await;
    assert_eq!(unasked, Err(MediaError::NoOfferPending));
}

#[tokio::test]
async fn leaving_takes_the_tracks_down_for_the_others_and_shutdown_ends_the_calls() {
    let mut call = spawn_call().await;
    let mut a = call.join("room-l", 61).await;
    // B publishes the way `addTrack` does: sendrecv.
    let mut b = call.join_unanswered("room-l", 62, Direction::SendRecv).await;
    call.answer_offers(&b);
    a.wait_for_frames_from(&[b.key], 10).await;
    b.wait_for_frames_from(&[a.key], 10).await;

    let offers_before = a.tally().offers;
    call.sfu.leave(b.key);
    let left = call.wait_for_event(|e| matches!(e, SfuEvent::Left { .. })).await;
    assert_eq!(left, SfuEvent::Left { peer: b.key, room: "room-l".into(), reason: LeftReason::Left });
    a.wait_until("an offer stopping B's tracks", |t| t.offers > offers_before).await;
    assert_eq!(call.sfu.stats().peers, 1);

    call.sfu.shutdown().await;
    let closed = call.wait_for_event(|e| matches!(e, SfuEvent::Left { .. })).await;
    assert!(matches!(closed, SfuEvent::Left { peer, .. } if peer == a.key));
    let offer = BrowserOffer::new(Direction::SendOnly).await;
    assert_eq!(call.sfu.join("room-l", PeerKey(63), "b63", offer.sdp).await, Err(MediaError::Closed));
}

/// Waits until the SFU's counters satisfy `done`.
async fn wait_for_stats(call: &helpers::TestCall, what: &str, done: impl Fn(&SfuStats) -> bool) -> SfuStats {
    let start = tokio::time::Instant::now();
    loop {
        let stats = call.sfu.stats();
        if done(&stats) {
            return stats;
        }
        assert!(start.elapsed() < PATIENCE, "{what} did not happen: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_browser_that_cannot_use_udp_calls_over_tcp_on_the_same_port() {
    let mut call = spawn_call().await;
    let mut on_udp = call.join("room-t", 51).await;
    let mut on_tcp = call.join_over_tcp("room-t", 52).await;

    let at_tcp = on_tcp.wait_for_frames_from(&[on_udp.key], 20).await;
    let at_udp = on_udp.wait_for_frames_from(&[on_tcp.key], 20).await;
    for tally in [&at_tcp, &at_udp] {
        assert_eq!(tally.mislabelled, 0);
        assert_eq!(tally.frames.len(), 2, "audio and video both ways: {tally:?}");
    }
    assert_eq!(call.sfu.stats().tcp_links, 1, "the TCP browser's one connection");

    // Leaving closes its connection.
    call.sfu.leave(on_tcp.key);
    call.wait_for_event(|e| matches!(e, SfuEvent::Left { peer, .. } if *peer == PeerKey(52))).await;
    wait_for_stats(&call, "the connection to close", |s| s.tcp_links == 0).await;
}

#[tokio::test]
async fn malformed_and_idle_tcp_connections_are_closed_without_disturbing_a_call() {
    let mut config = MediaConfig::new("127.0.0.1:0".parse().expect("a literal address"));
    config.connect_timeout = Duration::from_secs(2);
    let call = spawn_call_with(config).await;
    let mut a = call.join_over_tcp("room-m", 61).await;
    let mut b = call.join("room-m", 62).await;
    a.wait_for_frames_from(&[b.key], 10).await;
    let sfu = call.sfu.local_addr();

    // A frame longer than any WebRTC packet: closed at once.
    let mut oversized = TcpStream::connect(sfu).await.expect("the SFU takes TCP");
    oversized.write_all(&[0xff, 0xff, 1, 2, 3]).await.expect("loopback takes it");
    // Well framed garbage, then silence: dropped, and closed once unclaimed
    // for the connect timeout.
    let mut garbage = TcpStream::connect(sfu).await.expect("the SFU takes TCP");
    garbage.write_all(&[0, 4, 0xde, 0xad, 0xbe, 0xef]).await.expect("loopback takes it");
    // Nothing at all: closed the same way.
    let mut idle = TcpStream::connect(sfu).await.expect("the SFU takes TCP");

    for (what, stream) in [("oversized", &mut oversized), ("garbage", &mut garbage), ("idle", &mut idle)] {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the {what} connection should be closed by the SFU");
        assert!(rest.is_empty(), "nothing is sent to a stranger: {rest:?}");
    }
    wait_for_stats(&call, "the strangers' connections to go", |s| s.tcp_links == 1).await;
    let at_a = a.wait_for_frames_from(&[b.key], 20).await;
    let at_b = b.wait_for_frames_from(&[a.key], 20).await;
    assert_eq!(at_a.mislabelled + at_b.mislabelled, 0);
    assert!(call.sfu.stats().packets_dropped >= 1, "the garbage was counted");
}

#[tokio::test]
async fn with_tcp_off_the_answer_offers_udp_only_and_the_port_refuses_tcp() {
    let mut config = MediaConfig::new("127.0.0.1:0".parse().expect("a literal address"));
    config.tcp = false;
    let call = spawn_call_with(config).await;
    let offer = BrowserOffer::new(Direction::SendOnly).await;
    let answer = call.sfu.join("room-u", PeerKey(71), "p", offer.sdp).await.expect("a good offer is answered");
    assert!(answer.contains(" udp ") && !answer.contains(" tcp "), "{answer}");
    assert!(TcpStream::connect(call.sfu.local_addr()).await.is_err(), "nothing listens on TCP");
}

#[tokio::test]
async fn a_participant_on_a_weak_link_gets_only_audio_until_it_asks_for_video_again() {
    let call = spawn_call().await;
    let mut a = call.join("room-w", 81).await;
    let mut b = call.join("room-w", 82).await;
    b.wait_for_frames_from(&[a.key], 10).await;
    a.wait_for_frames_from(&[b.key], 10).await;

    // b's link is too weak for video: only a's audio reaches it.
    call.sfu.receive_video(b.key, false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paused = b.tally();
    let later = b
        .wait_until("more audio from a", |t| {
            t.from(a.key, MediaKind::Audio) >= paused.from(a.key, MediaKind::Audio) + 25
        })
        .await;
    assert_eq!(
        later.from(a.key, MediaKind::Video),
        paused.from(a.key, MediaKind::Video),
        "no video while paused: {later:?}"
    );
    // a, whose link is fine, still gets b's video.
    a.wait_for_frames_from(&[b.key], 10).await;

    // Video again: a is asked for a keyframe, and b gets a's video.
    let asked = a.tally().keyframe_requests;
    call.sfu.receive_video(b.key, true);
    b.wait_until("a's video again", |t| t.from(a.key, MediaKind::Video) > later.from(a.key, MediaKind::Video) + 5)
        .await;
    a.wait_until("a keyframe request", |t| t.keyframe_requests > asked).await;
}

/// A viewer whose link loses every twentieth packet still gets every video
/// frame: it asks for what is missing (NACK) and the SFU resends it from
/// the history it keeps of each forwarded track. (At every tenth, the
/// resends of this small stream pass 15 % of its bytes, where str0m
/// stops resending, as it should on a link that bad; with no history the
/// test loses about four frames in a hundred.)
#[tokio::test]
async fn a_viewer_on_a_lossy_link_gets_every_video_frame_by_resends() {
    let call = spawn_call().await;
    let a = call.join("room-lossy", 71).await;
    let mut b = call.join("room-lossy", 72).await;
    let sender = a.key.to_string();
    b.wait_for_frames_from(&[a.key], 10).await;

    b.lose_every(20);
    let before = b.tally().video_frames.get(&sender).and_then(|seen| seen.last().copied()).unwrap_or(0);
    let at_b = b
        .wait_until("100 video frames through the lossy link", |t| {
            t.video_frames.get(&sender).is_some_and(|seen| seen.range(before + 20..).count() >= 100)
        })
        .await;

    assert!(at_b.lost >= 10, "the link lost packets: {}", at_b.lost);
    // Frames still on their way (a resend after the newest) are left out.
    let seen = &at_b.video_frames[&sender];
    let newest = *seen.last().expect("frames came");
    let missing: Vec<u64> = (before + 20..newest - 20).filter(|n| n % 2 == 0 && !seen.contains(n)).collect();
    assert!(missing.is_empty(), "video frames never delivered: {missing:?} of {}..{newest}", before + 20);
}
