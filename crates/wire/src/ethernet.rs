//! Ethernet II headers, for frames sent on the link layer.

use crate::{Error, Result};

pub const HEADER_LEN: usize = 14;
/// The EtherType of IPv4.
pub const IPV4: u16 = 0x0800;
pub const IPV6: u16 = 0x86dd;

/// Writes an Ethernet header for a frame from `src` to `dst` carrying `ethertype`.
pub fn emit_header(dst: [u8; 6], src: [u8; 6], ethertype: u16, buf: &mut [u8]) -> Result<()> {
    let header = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
    header[..6].copy_from_slice(&dst);
    header[6..12].copy_from_slice(&src);
    header[12..].copy_from_slice(&ethertype.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_destination_source_then_type() {
        let mut buf = [0u8; 20];
        emit_header([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], IPV4, &mut buf).unwrap();
        assert_eq!(buf[..HEADER_LEN], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00]);
        assert_eq!(emit_header([0; 6], [0; 6], IPV4, &mut buf[..13]), Err(Error::Truncated));
    }
}
