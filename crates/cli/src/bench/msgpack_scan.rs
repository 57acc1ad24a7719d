//! A look into a socket.io-msgpack-parser packet without decoding it: its
//! type, the schedule stamp of its arguments and the size of a binary
//! argument, read in place (`rmp`'s markers), nothing allocated.
//!
//! ```text
//!  {type: 3, data: [{t: 123, p: "x…"}, <bin 65536>], nsp: "/", id: 7}  →  Scanned { kind: 3, stamp: 123, binary: 65536 }
//! ```
//!
//! Keys may come in any order (each server writes its own); within `data`,
//! the first map's `t` is the stamp and the first binary value the
//! attachment. Anything else is skipped, however it nests.

use rmp::Marker;

/// What the generator reads of a packet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The Socket.IO packet type.
    pub(crate) kind: Option<u64>,
    /// `t` of the first map among the arguments.
    pub(crate) stamp: Option<u64>,
    /// The length of the first binary argument.
    pub(crate) binary: Option<usize>,
}

/// How deep skipped values may nest before the packet counts as malformed.
const MAX_DEPTH: usize = 32;

/// Reads `packet`; `None` if it is not a well-formed msgpack map.
pub(crate) fn scan(packet: &[u8]) -> Option<Scanned> {
    let mut r = Reader(packet);
    let fields = r.map_len()?;
    let mut seen = Scanned::default();
    for _ in 0..fields {
        match r.str()? {
            b"type" => seen.kind = r.uint(),
            b"data" => r.data(&mut seen)?,
            _ => r.skip(0)?,
        }
    }
    Some(seen)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn marker(&mut self) -> Option<Marker> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(Marker::from_u8(first))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }

    fn len(&mut self, n: usize) -> Option<usize> {
        usize::try_from(self.be(n)?).ok()
    }

    /// The length of a map, or `None` if the next value is not one.
    fn map_len(&mut self) -> Option<usize> {
        match self.marker()? {
            Marker::FixMap(n) => Some(usize::from(n)),
            Marker::Map16 => self.len(2),
            Marker::Map32 => self.len(4),
            _ => None,
        }
    }

    /// A string's bytes, or `None` if the next value is not one.
    fn str(&mut self) -> Option<&'a [u8]> {
        let len = match self.marker()? {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 => self.len(1)?,
            Marker::Str16 => self.len(2)?,
            Marker::Str32 => self.len(4)?,
            _ => return None,
        };
        self.take(len)
    }

    /// A non-negative integer (or a float holding one, as JavaScript may
    /// write a large number); `None`, with the value consumed, otherwise.
    fn uint(&mut self) -> Option<u64> {
        match self.marker()? {
            Marker::FixPos(n) => Some(u64::from(n)),
            Marker::U8 | Marker::I8 => self.be(1),
            Marker::U16 | Marker::I16 => self.be(2),
            Marker::U32 | Marker::I32 => self.be(4),
            Marker::U64 | Marker::I64 => self.be(8),
            Marker::F64 => {
                let v = f64::from_bits(self.be(8)?);
                (v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(64)).then_some(v as u64)
            }
            _ => None,
        }
    }

    /// The `data` array: the first map's `t`, the first binary's length.
    fn data(&mut self, seen: &mut Scanned) -> Option<()> {
        let items = match self.marker()? {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => self.len(2)?,
            Marker::Array32 => self.len(4)?,
            other => return self.skip_after(other, 0),
        };
        for _ in 0..items {
            let rest = self.0;
            match self.marker()? {
                Marker::Bin8 | Marker::Bin16 | Marker::Bin32 if seen.binary.is_none() => {
                    self.0 = rest;
                    let len = self.bin_len()?;
                    self.take(len)?;
                    seen.binary = Some(len);
                }
                Marker::FixMap(_) | Marker::Map16 | Marker::Map32 if seen.stamp.is_none() => {
                    self.0 = rest;
                    let fields = self.map_len()?;
                    for _ in 0..fields {
                        if self.str()? == b"t" && seen.stamp.is_none() {
                            seen.stamp = self.uint();
                        } else {
                            self.skip(1)?;
                        }
                    }
                }
                other => self.skip_after(other, 1)?,
            }
        }
        Some(())
    }

    fn bin_len(&mut self) -> Option<usize> {
        match self.marker()? {
            Marker::Bin8 => self.len(1),
            Marker::Bin16 => self.len(2),
            Marker::Bin32 => self.len(4),
            _ => None,
        }
    }

    /// Skips the next value.
    fn skip(&mut self, depth: usize) -> Option<()> {
        let marker = self.marker()?;
        self.skip_after(marker, depth)
    }

    /// Skips the value whose marker was just read.
    fn skip_after(&mut self, marker: Marker, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (bytes, items) = match marker {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
                (0, 0)
            }
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::FixStr(n) => (usize::from(n), 0),
            Marker::Str8 | Marker::Bin8 => (self.len(1)?, 0),
            Marker::Str16 | Marker::Bin16 => (self.len(2)?, 0),
            Marker::Str32 | Marker::Bin32 => (self.len(4)?, 0),
            Marker::FixArray(n) => (0, usize::from(n)),
            Marker::Array16 => (0, self.len(2)?),
            Marker::Array32 => (0, self.len(4)?),
            Marker::FixMap(n) => (0, usize::from(n) * 2),
            Marker::Map16 => (0, self.len(2)?.checked_mul(2)?),
            Marker::Map32 => (0, self.len(4)?.checked_mul(2)?),
            Marker::FixExt1 => (2, 0),
            Marker::FixExt2 => (3, 0),
            Marker::FixExt4 => (5, 0),
            Marker::FixExt8 => (9, 0),
            Marker::FixExt16 => (17, 0),
            Marker::Ext8 => (self.len(1)?.checked_add(1)?, 0),
            Marker::Ext16 => (self.len(2)?.checked_add(1)?, 0),
            Marker::Ext32 => (self.len(4)?.checked_add(1)?, 0),
            Marker::Reserved => return None,
        };
        self.take(bytes)?;
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmp::encode::{write_array_len, write_bin, write_map_len, write_str, write_uint};

    fn packet(keys_first: &[&str], t: u64, bin: Option<usize>) -> Vec<u8> {
        let mut out = Vec::new();
        write_map_len(&mut out, keys_first.len() as u32).unwrap();
        for &key in keys_first {
            write_str(&mut out, key).unwrap();
            match key {
                "type" => drop(write_uint(&mut out, 3)),
                "id" => drop(write_uint(&mut out, 0xa174)), // 0xa1 0x74 is "t" as a fixstr
                "nsp" => drop(write_str(&mut out, "/")),
                "data" => {
                    write_array_len(&mut out, 2 + u32::from(bin.is_some())).unwrap();
                    write_array_len(&mut out, 1).unwrap(); // a nested array, skipped
                    write_map_len(&mut out, 0).unwrap();
                    write_map_len(&mut out, 3).unwrap();
                    write_str(&mut out, "p").unwrap();
                    write_str(&mut out, "xx").unwrap();
                    write_str(&mut out, "t").unwrap();
                    write_uint(&mut out, t).unwrap();
                    write_str(&mut out, "u").unwrap();
                    out.push(0xc0);
                    if let Some(n) = bin {
                        write_bin(&mut out, &vec![0xa1; n]).unwrap();
                    }
                }
                _ => unreachable!(),
            }
        }
        out
    }

    #[test]
    fn reads_type_stamp_and_binary_in_any_key_order() {
        let p = packet(&["id", "type", "nsp", "data"], 1 << 40, Some(70_000));
        assert_eq!(
            scan(&p),
            Some(Scanned {
                kind: Some(3),
                stamp: Some(1 << 40),
                binary: Some(70_000)
            })
        );
        let p = packet(&["data", "type"], 5, None);
        assert_eq!(
            scan(&p),
            Some(Scanned {
                kind: Some(3),
                stamp: Some(5),
                binary: None
            })
        );
    }

    #[test]
    fn reads_a_stamp_written_as_a_float() {
        let mut p = Vec::new();
        write_map_len(&mut p, 1).unwrap();
        write_str(&mut p, "data").unwrap();
        write_array_len(&mut p, 1).unwrap();
        write_map_len(&mut p, 1).unwrap();
        write_str(&mut p, "t").unwrap();
        rmp::encode::write_f64(&mut p, 12345.0).unwrap();
        assert_eq!(scan(&p).unwrap().stamp, Some(12345));
    }

    #[test]
    fn refuses_what_is_cut_short_or_not_a_map() {
        let p = packet(&["type", "data"], 5, Some(10));
        for end in 0..p.len() {
            assert_eq!(scan(&p[..end]), None, "cut at {end}");
        }
        assert_eq!(scan(&[0x92, 1, 2]), None);
    }
}
