//! QR rendering for contact codes and pairing QRs (feature `render`): terminal text with
//! half-block characters, SVG, and PNG rasterised here from the module matrix and encoded with the
//! `png` crate. Every image has the 4-module quiet zone QR readers need.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border around the symbol (ISO/IEC 18004 quiet zone).
pub const QUIET_ZONE: usize = 4;

/// Why a text could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Too much data for a QR code at error-correction level M.
    #[error("text does not fit in a QR code: {0}")]
    TooLong(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
    /// A scale of zero or one that makes the image too large.
    #[error("invalid scale {0}")]
    Scale(usize),
}

/// The dark/light modules of a QR symbol, without quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` at error-correction level M (15 % of the symbol may be damaged). Upper-case
    /// contact codes use the dense alphanumeric mode automatically.
    pub fn encode(text: &str) -> Result<Self, RenderError> {
        let code =
            QrCode::with_error_correction_level(text, EcLevel::M).map_err(|e| RenderError::TooLong(e.to_string()))?;
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(Self { width: code.width(), dark })
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether module (`x`, `y`) is dark; modules outside the symbol (the quiet zone) are light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    fn padded(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    /// Terminal text: two module rows per line with `▀`, `▄`, `█` and space, dark modules drawn
    /// with the glyph (for dark-on-light terminals).
    pub fn to_terminal(&self) -> String {
        let side = self.width + 2 * QUIET_ZONE;
        let mut out = String::with_capacity((side + 1) * side.div_ceil(2) * 3);
        for y in (0..side).step_by(2) {
            for x in 0..side {
                out.push(match (self.padded(x, y), self.padded(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }

    /// An SVG document, `scale` pixels per module.
    pub fn to_svg(&self, scale: usize) -> Result<String, RenderError> {
        let side = self.checked_side(scale)?;
        let mut path = String::new();
        for y in 0..self.width {
            for x in (0..self.width).filter(|&x| self.is_dark(x, y)) {
                path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
            }
        }
        let modules = self.width + 2 * QUIET_ZONE;
        Ok(format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" height=\"{side}\" viewBox=\"0 0 {modules} {modules}\" \
             shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>\n"
        ))
    }

    /// An 8-bit greyscale PNG, `scale` pixels per module.
    pub fn to_png(&self, scale: usize) -> Result<Vec<u8>, RenderError> {
        let side = self.checked_side(scale)?;
        let pixels = self.raster(scale);
        let side32 = u32::try_from(side).map_err(|_| RenderError::Scale(scale))?;
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side32, side32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let png_error = |e: png::EncodingError| RenderError::Png(e.to_string());
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }

    /// Row-major greyscale pixels (0 dark, 255 light) with the quiet zone, `scale` px per module.
    pub fn raster(&self, scale: usize) -> Vec<u8> {
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            for px in 0..side {
                pixels.push(if self.padded(px / scale, py / scale) { 0 } else { 255 });
            }
        }
        pixels
    }

    fn checked_side(&self, scale: usize) -> Result<usize, RenderError> {
        let side = (self.width + 2 * QUIET_ZONE).checked_mul(scale).filter(|s| *s > 0 && *s <= 16_384);
        side.ok_or(RenderError::Scale(scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::identity::{ContactCode, IdentityKeyPair, InstallationId};

    fn contact_code() -> ContactCode {
        let key = *IdentityKeyPair::from_seed([1; 32]).public();
        ContactCode::new(key, InstallationId::generate(&mut SeededEntropy::from_u64(1)))
    }

    /// Reads the text back with an independent QR decoder (rqrr).
    fn decode(pixels: &[u8], side: usize) -> String {
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| pixels[y * side + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn contact_code_qr_decodes_back_to_the_code() {
        let text = contact_code().to_qr_text();
        let qr = QrMatrix::encode(&text).unwrap();
        let scale = 4;
        let side = (qr.width() + 2 * QUIET_ZONE) * scale;
        assert_eq!(decode(&qr.raster(scale), side), text);
        assert_eq!(ContactCode::parse(&decode(&qr.raster(scale), side)), Ok(contact_code()));
    }

    #[test]
    fn png_and_terminal_carry_exactly_the_matrix() {
        let qr = QrMatrix::encode(&contact_code().to_qr_text()).unwrap();
        let png_bytes = qr.to_png(3).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..info.buffer_size()], qr.raster(3).as_slice());
        // Terminal text: each glyph is two modules; map back and compare with the matrix.
        let side = qr.width() + 2 * QUIET_ZONE;
        for (line, text) in qr.to_terminal().lines().enumerate() {
            for (x, glyph) in text.chars().enumerate() {
                let (top, bottom) = match glyph {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                };
                assert_eq!(top, qr.padded(x, 2 * line));
                assert_eq!(bottom, qr.padded(x, 2 * line + 1) && 2 * line + 1 < side);
            }
        }
    }

    #[test]
    fn svg_draws_one_square_per_dark_module() {
        let qr = QrMatrix::encode("hello").unwrap();
        let svg = qr.to_svg(8).unwrap();
        let dark = (0..qr.width())
            .flat_map(|y| (0..qr.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| qr.is_dark(x, y))
            .count();
        assert_eq!(svg.matches("h1v1h-1z").count(), dark);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_eq!(qr.to_svg(0), Err(RenderError::Scale(0)));
    }

    #[test]
    fn terminal_snapshot_of_a_fixed_contact_code() {
        let qr = QrMatrix::encode(&contact_code().to_qr_text()).unwrap();
        insta::assert_snapshot!("contact_code_terminal_qr", qr.to_terminal());
    }

    #[test]
    fn pairing_qr_renders_and_decodes() {
        let qr_text = "d2FrdS1ub2lzZS1zZXNzaW9ucw==:MC4x:MTA=:Jle3pAnY3YNaNjA7r_1RefHv0-r40Q4acTka3nnJ91U=:qCLSR4_ixhTXYhINpPEyKcgJqxWlWfCw76VBI8e_Kj0=";
        let qr = QrMatrix::encode(qr_text).unwrap();
        let side = (qr.width() + 2 * QUIET_ZONE) * 3;
        assert_eq!(decode(&qr.raster(3), side), qr_text);
    }

    #[test]
    fn oversized_text_is_refused() {
        assert!(matches!(QrMatrix::encode(&"x".repeat(5000)), Err(RenderError::TooLong(_))));
    }
}
