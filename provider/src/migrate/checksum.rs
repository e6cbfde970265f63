//! Flyway's migration checksum, so Flyway and this provider accept each
//! other's history.
//!
//! Flyway (`ChecksumCalculator`) reads the script with
//! `BufferedReader.readLine()`, strips a byte-order mark from the first line,
//! and feeds each line's UTF-8 bytes, without its terminator, to one
//! `java.util.zip.CRC32`; the result is cast to a Java `int`. `readLine` ends a
//! line at `\n`, `\r` or `\r\n`, so the checksum is the CRC-32 of the text with
//! every `\r` and `\n` removed: line endings (LF or CRLF) and blank lines do not
//! change it, any other byte does.

/// The byte-order mark Flyway filters from the start of the first line.
const BOM: char = '\u{feff}';

/// The checksum Flyway computes for a script's bytes, as stored in the
/// `checksum` column (a signed 32-bit integer).
pub fn flyway_checksum(bytes: &[u8]) -> i32 {
    // Flyway decodes with a replacing decoder; lossy decoding does the same
    // for the (rare) files that are not valid UTF-8.
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix(BOM).unwrap_or(&text);
    let mut crc = crc32fast::Hasher::new();
    for line in text.split(['\r', '\n']) {
        crc.update(line.as_bytes());
    }
    // Java's `(int) crc32.getValue()`: the same 32 bits read as signed.
    crc.finalize() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_bom_do_not_matter() {
        let lf = flyway_checksum(b"CREATE TABLE a (id int);\nSELECT 1;\n");
        assert_eq!(
            lf,
            flyway_checksum(b"CREATE TABLE a (id int);\r\nSELECT 1;\r\n")
        );
        assert_eq!(lf, flyway_checksum(b"CREATE TABLE a (id int);\rSELECT 1;"));
        assert_eq!(
            lf,
            flyway_checksum("\u{feff}CREATE TABLE a (id int);\nSELECT 1;\n".as_bytes())
        );
        assert_ne!(lf, flyway_checksum(b"CREATE TABLE a (id int); SELECT 1;\n"));
    }

    #[test]
    fn empty_script_is_zero() {
        assert_eq!(flyway_checksum(b""), 0);
        assert_eq!(flyway_checksum(b"\n\n"), 0);
    }
}
