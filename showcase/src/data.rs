//! The 8x8 handwritten digits, embedded in the binary, and a stratified train/test split.

use std::io::Read;

use flate2::read::GzDecoder;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

/// scikit-learn's copy of the UCI optical handwritten digits (see `data/LICENSE-digits`).
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Pixels per image (8 x 8).
pub const PIXELS: usize = 64;
/// Digit classes 0..=9.
pub const CLASSES: usize = 10;
/// Brightest pixel value in the raw data.
const MAX_PIXEL: f32 = 16.0;

/// Why the digits could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The gzip stream is corrupt or not UTF-8.
    #[error("cannot decompress the digits: {0}")]
    Decompress(#[from] std::io::Error),
    /// A line does not hold 64 pixels and a label.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number in the CSV.
        line: usize,
        /// What was wrong with it.
        reason: String,
    },
}

/// Images as rows of pixels scaled to `[0, 1]`, with their digit labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// One row per image, [`PIXELS`] columns.
    pub images: Array2<f32>,
    /// The digit each row shows.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// The 1,797 digits embedded in this binary.
    ///
    /// ```
    /// let digits = showcase::data::Dataset::embedded().unwrap();
    /// assert_eq!(digits.images.dim(), (1797, 64));
    /// ```
    pub fn embedded() -> Result<Self, DataError> {
        let mut csv = String::new();
        GzDecoder::new(DIGITS_CSV_GZ).read_to_string(&mut csv)?;
        Self::parse_csv(&csv)
    }

    /// Parses lines of 64 comma-separated pixel values (0..=16) followed by the label.
    ///
    /// ```
    /// let line = format!("{}{}", "16,".repeat(64), 7);
    /// let one = showcase::data::Dataset::parse_csv(&line).unwrap();
    /// assert_eq!((one.images[[0, 0]], one.labels[0]), (1.0, 7));
    /// assert!(showcase::data::Dataset::parse_csv("1,2,3").is_err());
    /// ```
    pub fn parse_csv(csv: &str) -> Result<Self, DataError> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for (index, text) in csv.lines().enumerate().filter(|(_, text)| !text.trim().is_empty()) {
            let line = index + 1;
            let fail = |reason: String| DataError::Line { line, reason };
            let fields: Vec<&str> = text.trim().split(',').collect();
            if fields.len() != PIXELS + 1 {
                return Err(fail(format!("expected {} fields, found {}", PIXELS + 1, fields.len())));
            }
            for field in &fields[..PIXELS] {
                let value: f32 = field.trim().parse().map_err(|_| fail(format!("pixel `{field}` is not a number")))?;
                if !(0.0..=MAX_PIXEL).contains(&value) {
                    return Err(fail(format!("pixel {value} is outside 0..={MAX_PIXEL}")));
                }
                pixels.push(value / MAX_PIXEL);
            }
            let label = fields[PIXELS].trim();
            let label = label.parse::<f32>().ok().filter(|l| l.fract() == 0.0 && (0.0..CLASSES as f32).contains(l));
            let label = label.ok_or_else(|| fail(format!("label `{}` is not a digit", fields[PIXELS])))?;
            labels.push(label as usize);
        }
        let images = Array2::from_shape_vec((labels.len(), PIXELS), pixels).expect("one row of pixels per label");
        Ok(Dataset { images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            images: self.images.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Splits off `test_fraction` of every class as a held-out test set (a stratified split),
    /// shuffled with `seed`; returns `(train, test)`.
    ///
    /// ```
    /// let digits = showcase::data::Dataset::embedded().unwrap();
    /// let (train, test) = digits.split(0.2, 7);
    /// assert_eq!(train.len() + test.len(), 1797);
    /// assert!((355..=365).contains(&test.len()));
    /// ```
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..CLASSES {
            let mut members: Vec<usize> = (0..self.len()).filter(|&i| self.labels[i] == class).collect();
            members.shuffle(&mut rng);
            let held_out = (members.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&members[..held_out]);
            train.extend_from_slice(&members[held_out..]);
        }
        train.shuffle(&mut rng);
        test.shuffle(&mut rng);
        (self.select(&train), self.select(&test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_have_scikit_learns_class_counts() {
        let digits = Dataset::embedded().unwrap();
        let mut counts = [0; CLASSES];
        digits.labels.iter().for_each(|&label| counts[label] += 1);
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(digits.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_eq!(digits.images.row(0).sum() * MAX_PIXEL, 294.0);
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let digits = Dataset::embedded().unwrap();
        let (train, test) = digits.split(0.2, 3);
        let zeros = test.labels.iter().filter(|&&label| label == 0).count();
        assert_eq!(zeros, (178.0f64 * 0.2).round() as usize);
        let (_, again) = digits.split(0.2, 3);
        assert_eq!(test.labels, again.labels);
        let (_, other) = digits.split(0.2, 4);
        assert_ne!(test.labels, other.labels);
        assert_eq!(train.len(), 1797 - test.len());
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let good = format!("{}3", "0,".repeat(PIXELS));
        let cases = [
            (format!("{good}\n1,2"), "line 2: expected 65 fields, found 2"),
            (format!("{good}\n{}3", "x,".repeat(PIXELS)), "line 2: pixel `x` is not a number"),
            (format!("17,{}3", "0,".repeat(PIXELS - 1)), "line 1: pixel 17 is outside 0..=16"),
            (format!("{}10", "0,".repeat(PIXELS)), "line 1: label `10` is not a digit"),
            (format!("{}2.5", "0,".repeat(PIXELS)), "line 1: label `2.5` is not a digit"),
        ];
        for (csv, message) in cases {
            assert_eq!(Dataset::parse_csv(&csv).unwrap_err().to_string(), message);
        }
        assert_eq!(Dataset::parse_csv(&format!("{good}\n\n{good}\n")).unwrap().len(), 2);
    }
}
