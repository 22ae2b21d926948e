//! The SFU against str0m "browsers" over real UDP on loopback: ICE, DTLS and
//! SRTP as a browser would do them, and media forwarded between them.

mod helpers;

use std::time::Duration;

use helpers::{BrowserOffer, PATIENCE, spawn_call};
use shouwang_media::{LeftReason, MAX_PEERS_PER_ROOM, MediaError, PeerKey, SfuEvent};
use str0m::media::{Direction, MediaKind};
use tokio::net::UdpSocket;

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
        let refused = call.sfu.join("room-b", PeerKey(99), garbage.into()).await;
        assert!(matches!(refused, Err(MediaError::BadSdp(_))), "{garbage:?} gave {refused:?}");
    }

    for key in 0..MAX_PEERS_PER_ROOM as u64 {
        let offer = BrowserOffer::new(Direction::SendOnly).await;
        call.sfu.join("room-b", PeerKey(100 + key), offer.sdp).await.expect("a room takes sixteen");
    }
    let offer = BrowserOffer::new(Direction::SendOnly).await;
    let seventeenth = call.sfu.join("room-b", PeerKey(200), offer.sdp.clone()).await;
    assert_eq!(seventeenth, Err(MediaError::TooManyInRoom));
    let again = call.sfu.join("room-c", PeerKey(100), offer.sdp.clone()).await;
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

    let start = tokio::time::Instant::now();
    while call.sfu.stats().packets_dropped < dropped_before + garbage.len() as u64 {
        assert!(start.elapsed() < PATIENCE, "garbage not counted: {:?}", call.sfu.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_a = a.wait_for_frames_from(&[b.key], 20).await;
    let at_b = b.wait_for_frames_from(&[a.key], 20).await;
    assert_eq!(at_a.mislabelled + at_b.mislabelled, 0);
    assert!(at_b.from(a.key, MediaKind::Video) > 0);
    assert_eq!(call.sfu.stats().peers, 2);
}
