//! Plot export: a CSV of the visible series and PNG bytes of a (cropped) plot screenshot.
//!
//! CSV rules ([`write_csv`], [`csv_string`]):
//! - RFC 4180 fields, `\n` line ends, UTF-8 without BOM. A field holding a comma, a double quote, CR or LF
//!   is quoted and its quotes doubled; this applies to series names and to the caller's time text alike.
//! - Header `time,epoch_ms,<name1>,<name2>,...`. Column names stay unique: a name already taken (the fixed
//!   `time` and `epoch_ms` included) gets the first free ` (2)`, ` (3)`, ... suffix, in series order.
//! - One row per distinct timestamp of any series, ascending, found by a k-way walk over the series (which
//!   must be sorted ascending by timestamp, as the plot keeps them): O(rows x series), no map of every
//!   timestamp. A series without a point at a row's timestamp leaves its cell empty. Unsorted input still
//!   exports every point, only its rows are then not ascending.
//! - Non-finite values (NaN, +-inf) count as absent points: they never print, and a timestamp whose only
//!   points are non-finite gets no row. Several points of one series at one timestamp: the last finite wins.
//! - Values print in the shortest text that parses back to the same `f64`: Rust's `{:?}` form without a
//!   trailing `.0`, so `21.5`, `3`, `-0.25`, `1e16`, `1e-5` (exponent form below 1e-4 and from 1e16 on,
//!   which spreadsheets read), and `0` for -0.0.
//!
//! Images ([`crop_rgba`], [`encode_png`]) are RGBA8, row-major, `width * height * 4` bytes. A shorter
//! buffer is an [`ExportError`], never a panic; bytes past that length are ignored.

use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt::Write as _;

/// One series to export: its column name and its points (epoch ms, value), ascending by ts.
#[derive(Debug, Clone, Copy)]
pub struct ExportSeries<'a> {
    /// Column name in the CSV header (made unique if another series already uses it).
    pub name: &'a str,
    /// Points as (epoch ms, value), ascending by timestamp.
    pub points: &'a [(i64, f64)],
}

/// Why an image could not be cropped or encoded.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The pixel buffer is shorter than the image size says.
    #[error("image buffer holds {actual} bytes but a {width}x{height} RGBA image needs {needed}")]
    ShortBuffer {
        /// Image width in pixels.
        width: usize,
        /// Image height in pixels.
        height: usize,
        /// Bytes the image needs (`width * height * 4`).
        needed: usize,
        /// Bytes the buffer holds.
        actual: usize,
    },
    /// The image size overflows memory sizes or the PNG format's 32-bit dimensions.
    #[error("a {width}x{height} image is too large to export")]
    TooLarge {
        /// Image width in pixels.
        width: usize,
        /// Image height in pixels.
        height: usize,
    },
    /// A PNG needs at least one pixel.
    #[error("cannot export an empty {width}x{height} image")]
    Empty {
        /// Image width in pixels.
        width: usize,
        /// Image height in pixels.
        height: usize,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// Buffered CSV text is handed to the sink in chunks of about this size.
const FLUSH_AT: usize = 64 * 1024;

/// Writes CSV (RFC 4180, "\n" line ends, UTF-8, no BOM): header `time,epoch_ms,<name1>,<name2>,...`; one row per
/// distinct timestamp of any series, ascending; `time` = `iso_time(ts)`. See the module docs for the exact rules.
///
/// # Errors
/// Returns the first error of `out`.
pub fn write_csv(
    out: &mut impl std::io::Write,
    series: &[ExportSeries<'_>],
    iso_time: impl Fn(i64) -> String,
) -> std::io::Result<()> {
    emit_csv(series, iso_time, |chunk| out.write_all(chunk.as_bytes()))
}

/// Same as [`write_csv`], into a String.
#[must_use]
pub fn csv_string(series: &[ExportSeries<'_>], iso_time: impl Fn(i64) -> String) -> String {
    let mut text = String::new();
    let written: Result<(), Infallible> = emit_csv(series, iso_time, |chunk| {
        text.push_str(chunk);
        Ok(())
    });
    match written {
        Ok(()) => text,
        Err(never) => match never {},
    }
}

/// Builds the CSV in a buffer and hands it to `sink` in chunks of about [`FLUSH_AT`] bytes.
fn emit_csv<E>(
    series: &[ExportSeries<'_>],
    iso_time: impl Fn(i64) -> String,
    mut sink: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = String::with_capacity(FLUSH_AT + 1024);
    buf.push_str("time,epoch_ms");
    for name in unique_names(series) {
        buf.push(',');
        push_field(&mut buf, &name);
    }
    buf.push('\n');

    // One cursor per series: the points not yet written.
    let mut rest: Vec<&[(i64, f64)]> = series.iter().map(|s| s.points).collect();
    loop {
        let mut next_ts: Option<i64> = None;
        for points in &mut rest {
            while let Some((&(_, v), tail)) = points.split_first()
                && !v.is_finite()
            {
                *points = tail;
            }
            if let Some(&(ts, _)) = points.first() {
                next_ts = Some(next_ts.map_or(ts, |min| min.min(ts)));
            }
        }
        let Some(ts) = next_ts else { break };

        push_field(&mut buf, &iso_time(ts));
        let _ = write!(buf, ",{ts}");
        for points in &mut rest {
            buf.push(',');
            let mut value = None;
            while let Some((&(t, v), tail)) = points.split_first()
                && t == ts
            {
                if v.is_finite() {
                    value = Some(v);
                }
                *points = tail;
            }
            if let Some(v) = value {
                push_number(&mut buf, v);
            }
        }
        buf.push('\n');
        if buf.len() >= FLUSH_AT {
            sink(&buf)?;
            buf.clear();
        }
    }
    sink(&buf)
}

/// The series names with ` (n)` suffixes where a name is already taken, `time` and `epoch_ms` included.
fn unique_names(series: &[ExportSeries<'_>]) -> Vec<String> {
    let mut taken: HashSet<String> = ["time", "epoch_ms"].map(String::from).into();
    series
        .iter()
        .map(|s| {
            let mut name = s.name.to_owned();
            let mut n = 1_u64;
            while taken.contains(&name) {
                n += 1;
                name = format!("{} ({n})", s.name);
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// Appends `field`, quoted with doubled quotes if it holds a comma, quote, CR or LF.
fn push_field(buf: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        buf.push('"');
        buf.push_str(&field.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(field);
    }
}

/// Appends a finite value in its shortest round-trip text, without a trailing ".0" and with -0 as "0".
fn push_number(buf: &mut String, v: f64) {
    if v == 0.0 {
        buf.push('0');
        return;
    }
    let _ = write!(buf, "{v:?}");
    if buf.ends_with(".0") {
        buf.truncate(buf.len() - 2);
    }
}

/// Bytes of a `width` x `height` RGBA8 image.
fn rgba_len(width: usize, height: usize) -> Result<usize, ExportError> {
    width
        .checked_mul(height)
        .and_then(|pixels| pixels.checked_mul(4))
        .ok_or(ExportError::TooLarge { width, height })
}

/// The first `width * height * 4` bytes of `rgba`, or why there are not that many.
fn image_bytes(width: usize, height: usize, rgba: &[u8]) -> Result<&[u8], ExportError> {
    let needed = rgba_len(width, height)?;
    rgba.get(..needed).ok_or(ExportError::ShortBuffer {
        width,
        height,
        needed,
        actual: rgba.len(),
    })
}

/// A region of an RGBA8 image (row-major, width*height*4 bytes), clamped to the image; errors on a short buffer.
/// Returns the region's width, height and pixels; a region wholly outside the image is 0 x 0 and empty.
///
/// # Errors
/// [`ExportError::ShortBuffer`] when `rgba` is shorter than the image, [`ExportError::TooLarge`] when its size
/// overflows.
pub fn crop_rgba(
    width: usize,
    height: usize,
    rgba: &[u8],
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> Result<(usize, usize, Vec<u8>), ExportError> {
    let image = image_bytes(width, height, rgba)?;
    let (x0, x1) = (x.min(width), x.saturating_add(w).min(width));
    let (y0, y1) = (y.min(height), y.saturating_add(h).min(height));
    let (crop_w, crop_h) = (x1 - x0, y1 - y0);
    if crop_w == 0 || crop_h == 0 {
        return Ok((0, 0, Vec::new()));
    }
    let mut pixels = Vec::with_capacity(crop_w * crop_h * 4);
    for row in image.chunks_exact(width * 4).skip(y0).take(crop_h) {
        pixels.extend_from_slice(&row[x0 * 4..x1 * 4]);
    }
    Ok((crop_w, crop_h, pixels))
}

/// PNG bytes of an RGBA8 image.
///
/// # Errors
/// [`ExportError::Empty`] for a zero width or height, [`ExportError::ShortBuffer`] when `rgba` is shorter than the
/// image, [`ExportError::TooLarge`] beyond PNG's dimensions, [`ExportError::Png`] when the encoder fails.
pub fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Result<Vec<u8>, ExportError> {
    let image = image_bytes(width, height, rgba)?;
    if image.is_empty() {
        return Err(ExportError::Empty { width, height });
    }
    let too_large = |_| ExportError::TooLarge { width, height };
    let (png_w, png_h) = (
        u32::try_from(width).map_err(too_large)?,
        u32::try_from(height).map_err(too_large)?,
    );
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, png_w, png_h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(image)?;
    writer.finish()?;
    Ok(bytes)
}

/// "tb-monitor-plot-2026-11-30-1402.csv" from a local date-time text the caller gives ("2026-11-30 14:02:05.123"),
/// made safe for every OS's file names.
///
/// The first five digit runs of `local_time` become `Y-M-D-HHMM`; a text with fewer keeps only its ASCII letters
/// and digits, other runs turned into single `-`. The extension keeps only ASCII letters and digits (so ".csv"
/// works too); an empty one gives a name without a dot. Both parts are capped in length.
#[must_use]
pub fn suggested_file_name(extension: &str, local_time: &str) -> String {
    let runs: Vec<&str> = local_time
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .collect();
    let mut stamp = if let [year, month, day, hour, minute, ..] = runs.as_slice() {
        format!("{year}-{month}-{day}-{hour}{minute}")
    } else {
        let mut safe = String::new();
        for c in local_time.chars() {
            if c.is_ascii_alphanumeric() {
                safe.push(c);
            } else if !safe.is_empty() && !safe.ends_with('-') {
                safe.push('-');
            }
        }
        safe.trim_end_matches('-').to_owned()
    };
    stamp.truncate(48);
    let stamp = stamp.trim_end_matches('-');
    let extension: String = extension
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();

    let mut name = String::from("tb-monitor-plot");
    if !stamp.is_empty() {
        name.push('-');
        name.push_str(stamp);
    }
    if !extension.is_empty() {
        name.push('.');
        name.push_str(&extension);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series<'a>(name: &'a str, points: &'a [(i64, f64)]) -> ExportSeries<'a> {
        ExportSeries { name, points }
    }

    fn t(ts: i64) -> String {
        format!("T{ts}")
    }

    #[test]
    fn rows_merge_interleaved_and_shared_timestamps_in_ascending_order() {
        let temp = [(1000, 21.5), (2000, 22.0), (4000, -0.25)];
        let hum = [(1500, 40.0), (2000, 41.5), (3000, 1e16)];
        let csv = csv_string(&[series("temp", &temp), series("hum", &hum)], t);
        assert_eq!(
            csv,
            "time,epoch_ms,temp,hum\n\
             T1000,1000,21.5,\n\
             T1500,1500,,40\n\
             T2000,2000,22,41.5\n\
             T3000,3000,,1e16\n\
             T4000,4000,-0.25,\n"
        );
    }

    #[test]
    fn write_csv_writes_the_same_text_as_csv_string() {
        let a = [(1, 1.0), (3, 3.0)];
        let b = [(2, 2.0)];
        let all = [series("a", &a), series("b", &b)];
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &all, t).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), csv_string(&all, t));
    }

    #[test]
    fn write_csv_returns_the_writers_error() {
        struct Broken;
        impl std::io::Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = write_csv(&mut Broken, &[series("a", &[(1, 1.0)])], t).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }

    #[test]
    fn names_and_times_with_commas_quotes_or_line_breaks_are_quoted_with_doubled_quotes() {
        let p = [(5, 1.0)];
        let csv = csv_string(
            &[
                series("a,b", &p),
                series("say \"hi\"", &p),
                series("two\nlines", &p),
                series("cr\r", &p),
                series("plain ü", &p),
            ],
            |_| "Mon, 5 ms".to_owned(),
        );
        assert_eq!(
            csv,
            "time,epoch_ms,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",plain ü\n\
             \"Mon, 5 ms\",5,1,1,1,1,1\n"
        );
    }

    #[test]
    fn duplicate_names_get_numbered_suffixes_so_columns_stay_unique() {
        let p = [(5, 1.0)];
        let names = ["t", "t", "t (2)", "t", "time", "epoch_ms"];
        let all: Vec<_> = names.iter().map(|n| series(n, &p)).collect();
        let csv = csv_string(&all, t);
        assert_eq!(
            csv.lines().next().unwrap(),
            "time,epoch_ms,t,t (2),t (2) (2),t (3),time (2),epoch_ms (2)"
        );
    }

    #[test]
    fn no_series_exports_the_fixed_header_only() {
        assert_eq!(csv_string(&[], t), "time,epoch_ms\n");
    }

    #[test]
    fn series_without_points_export_the_header_only() {
        assert_eq!(
            csv_string(&[series("a", &[]), series("b", &[])], t),
            "time,epoch_ms,a,b\n"
        );
    }

    #[test]
    fn non_finite_values_are_skipped_and_their_only_timestamps_get_no_row() {
        let a = [(1, f64::NAN), (2, 2.0), (3, f64::INFINITY), (5, f64::NAN)];
        let b = [(2, f64::NEG_INFINITY), (3, 3.0), (4, f64::NAN)];
        let csv = csv_string(&[series("a", &a), series("b", &b)], t);
        assert_eq!(csv, "time,epoch_ms,a,b\nT2,2,2,\nT3,3,,3\n");
    }

    #[test]
    fn several_points_at_one_timestamp_keep_the_last_finite_value() {
        let a = [(1, 1.0), (1, 1.5), (1, f64::NAN), (2, 2.0)];
        let csv = csv_string(&[series("a", &a)], t);
        assert_eq!(csv, "time,epoch_ms,a\nT1,1,1.5\nT2,2,2\n");
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "an exact round trip is the property under test"
    )]
    fn values_print_in_the_shortest_text_that_parses_back_to_the_same_number() {
        let values = [
            (3.0, "3"),
            (21.5, "21.5"),
            (-0.25, "-0.25"),
            (1e16, "1e16"),
            (1e15, "1000000000000000"),
            (1e-5, "1e-5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "0"),
            (f64::MAX, "1.7976931348623157e308"),
        ];
        for (value, text) in values {
            let mut buf = String::new();
            push_number(&mut buf, value);
            assert_eq!(buf, text);
            assert_eq!(buf.parse::<f64>().unwrap(), value);
        }
    }

    #[test]
    fn twenty_series_of_100k_points_export_one_row_per_distinct_timestamp() {
        // Series i has points every 10 ms at offset i % 5: 5 offsets x 100k steps = 500k distinct timestamps.
        let all_points: Vec<Vec<(i64, f64)>> = (0..20_i64)
            .map(|i| (0..100_000_i64).map(|j| (j * 10 + i % 5, 0.5)).collect())
            .collect();
        let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        let all: Vec<_> = names
            .iter()
            .zip(&all_points)
            .map(|(name, points)| series(name, points))
            .collect();
        let csv = csv_string(&all, |ts| ts.to_string());
        assert_eq!(csv.lines().count(), 1 + 500_000);
        let expected_row_3 = format!("3,3{}", ",,,,0.5,".repeat(4));
        assert_eq!(csv.lines().nth(4).unwrap(), expected_row_3);
        assert!(csv.ends_with(&format!("999994,999994{}\n", ",,,,,0.5".repeat(4))));
    }

    /// A `width` x `height` image whose pixel (x, y) is (x, y, x + y, 255).
    fn gradient(width: usize, height: usize) -> Vec<u8> {
        let mut rgba = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let [x, y] = [x, y].map(|c| u8::try_from(c).unwrap());
                rgba.extend_from_slice(&[x, y, x + y, 255]);
            }
        }
        rgba
    }

    #[test]
    fn crop_takes_the_region_inside_the_image() {
        let (w, h, pixels) = crop_rgba(4, 3, &gradient(4, 3), 1, 1, 2, 2).unwrap();
        assert_eq!((w, h), (2, 2));
        assert_eq!(
            pixels,
            [1, 1, 2, 255, 2, 1, 3, 255, 1, 2, 3, 255, 2, 2, 4, 255]
        );
    }

    #[test]
    fn crop_clamps_a_region_reaching_past_the_image() {
        let image = gradient(4, 3);
        let (w, h, pixels) = crop_rgba(4, 3, &image, 3, 2, 10, usize::MAX).unwrap();
        assert_eq!((w, h, pixels), (1, 1, vec![3, 2, 5, 255]));
        assert_eq!(
            crop_rgba(4, 3, &image, 0, 0, 99, 99).unwrap(),
            (4, 3, image.clone())
        );
        assert_eq!(
            crop_rgba(4, 3, &image, 4, 0, 5, 5).unwrap(),
            (0, 0, Vec::new())
        );
    }

    #[test]
    fn crop_of_a_short_buffer_is_an_error() {
        let err = crop_rgba(4, 3, &[0; 47], 0, 0, 1, 1).unwrap_err();
        assert!(matches!(
            err,
            ExportError::ShortBuffer {
                needed: 48,
                actual: 47,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "image buffer holds 47 bytes but a 4x3 RGBA image needs 48"
        );
    }

    #[test]
    fn encoded_png_decodes_back_to_the_same_size_and_pixels() {
        let image = gradient(7, 5);
        let bytes = encode_png(7, 5, &image).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut decoded).unwrap();
        assert_eq!((frame.width, frame.height), (7, 5));
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgba, png::BitDepth::Eight)
        );
        assert_eq!(&decoded[..frame.buffer_size()], image.as_slice());
    }

    #[test]
    fn encoding_a_short_buffer_is_an_error_not_a_panic() {
        assert!(matches!(
            encode_png(7, 5, &gradient(7, 4)),
            Err(ExportError::ShortBuffer { .. })
        ));
        assert!(matches!(
            encode_png(usize::MAX, 2, &[]),
            Err(ExportError::TooLarge { .. })
        ));
    }

    #[test]
    fn encoding_an_empty_image_is_an_error() {
        assert!(matches!(
            encode_png(0, 5, &[]),
            Err(ExportError::Empty { .. })
        ));
    }

    #[test]
    fn suggested_file_name_keeps_date_hour_and_minute() {
        assert_eq!(
            suggested_file_name("csv", "2026-11-30 14:02:05.123"),
            "tb-monitor-plot-2026-11-30-1402.csv"
        );
        assert_eq!(
            suggested_file_name(".png", "2026-01-02T03:04"),
            "tb-monitor-plot-2026-01-02-0304.png"
        );
    }

    #[test]
    fn suggested_file_name_strips_characters_unsafe_in_file_names() {
        assert_eq!(
            suggested_file_name("c/s:v", "Mon 30/11 <14:02>"),
            "tb-monitor-plot-Mon-30-11-14-02.csv"
        );
        assert_eq!(suggested_file_name("", "  ?*  "), "tb-monitor-plot");
    }
}
