//! Reads a QR code back from the SVG the pass page shows: the dark modules
//! of its `<path>` are drawn into a bitmap, which a QR decoder written
//! independently of the encoder (`rqrr`) then reads, as a phone camera would.

/// The text of the QR code in `svg` (as rendered by `qrcode`'s SVG renderer:
/// one `M x y h w v h H x V y` per dark rectangle).
pub fn decode_svg(svg: &str) -> String {
    let view = svg.split("viewBox=\"").nth(1).expect("the SVG has a viewBox");
    let size: usize = view.split(['"', ' ']).nth(2).unwrap().parse().unwrap();
    let d = svg.split(" d=\"").nth(1).expect("the SVG has a path").split('"').next().unwrap();
    let mut dark = vec![false; size * size];
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (x, y, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for yy in y..y + h {
            for xx in x..x + w {
                dark[yy * size + xx] = true;
            }
        }
    }
    // Four pixels a module, as a camera sees it at least.
    const SCALE: usize = 4;
    let side = size * SCALE;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        if dark[(y / SCALE) * size + x / SCALE] { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code is found");
    grids[0].decode().expect("the QR code decodes").1
}
