//! A state tensor stored in a compact format: its codes, and one float32 scale per block.

use super::StateFormat;
use super::codec;
use crate::Element;

/// Elements of the widest block (8-bit and float8); every tile of a packed tensor is whole blocks.
pub(crate) const MAX_BLOCK: usize = 256;

/// One state tensor in a compact [`StateFormat`] (never [`StateFormat::Native`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PackedState {
    pub format: StateFormat,
    /// Coded with the signed map (8-bit and 4-bit only; the others have a sign bit).
    pub signed: bool,
    pub len: usize,
    /// Codes: one byte per element (8-bit, float8), two per byte (4-bit), or bfloat16 bits
    /// (two bytes per element, little-endian).
    pub codes: Vec<u8>,
    /// One scale per block (none for bfloat16).
    pub scales: Vec<f32>,
}

impl PackedState {
    /// `len` zeros as torchao creates them: every code 0 and every scale 0.
    pub(crate) fn zeros(format: StateFormat, signed: bool, len: usize) -> Self {
        let codes = vec![0u8; format.code_bytes(len)];
        let scales = vec![0.0f32; format.blocks(len)];
        PackedState { format, signed, len, codes, scales }
    }

    /// `values` coded in `format` (their length must be a whole number of blocks), with the
    /// unsigned map only when `signed` is false and no value is negative: values from elsewhere
    /// (a checkpoint saved in another format) are not trusted to keep the rule's sign.
    pub(crate) fn from_values<T: Element>(format: StateFormat, signed: bool, values: &[T]) -> Self {
        let signed = signed || values.iter().any(|v| v.to_f64() < 0.0);
        let mut packed = PackedState::zeros(format, signed, values.len());
        packed.view_mut().encode(values);
        packed
    }

    pub(crate) fn view(&self) -> PackedRef<'_> {
        PackedRef { format: self.format, signed: self.signed, codes: &self.codes, scales: &self.scales }
    }

    pub(crate) fn view_mut(&mut self) -> PackedMut<'_> {
        PackedMut { format: self.format, signed: self.signed, codes: &mut self.codes, scales: &mut self.scales }
    }

    /// Every value, decoded.
    pub(crate) fn values<T: Element>(&self) -> Vec<T> {
        let mut out = vec![T::ZERO; self.len];
        self.view().decode(&mut out);
        out
    }

    /// Bytes the state occupies (codes and scales).
    pub(crate) fn bytes(&self) -> usize {
        self.codes.len() + 4 * self.scales.len()
    }
}

/// A range of whole blocks of a packed tensor, read-only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackedRef<'a> {
    pub format: StateFormat,
    pub signed: bool,
    pub codes: &'a [u8],
    pub scales: &'a [f32],
}

/// A range of whole blocks of a packed tensor.
#[derive(Debug)]
pub(crate) struct PackedMut<'a> {
    pub format: StateFormat,
    pub signed: bool,
    pub codes: &'a mut [u8],
    pub scales: &'a mut [f32],
}

impl<'a> PackedRef<'a> {
    /// The blocks from element `from` (a block boundary) on.
    pub(crate) fn from(self, from: usize) -> Self {
        let (codes, scales) = (self.format.code_bytes(from), self.format.blocks(from));
        PackedRef {
            codes: &self.codes[codes.min(self.codes.len())..],
            scales: &self.scales[scales.min(self.scales.len())..],
            ..self
        }
    }

    /// Decodes the first `out.len()` elements (whole blocks, or the tensor's end) into `out`.
    pub(crate) fn decode<T: Element>(self, out: &mut [T]) {
        let block = self.format.block_size();
        let mut values = [0.0f32; MAX_BLOCK];
        for (index, chunk) in out.chunks_mut(block).enumerate() {
            let values = &mut values[..chunk.len()];
            let codes = &self.codes[self.format.code_bytes(index * block)..];
            let scale = self.scales.get(index).copied().unwrap_or(1.0);
            decode_block(self.format, self.signed, codes, scale, values);
            for (v, &x) in chunk.iter_mut().zip(values.iter()) {
                *v = T::from_f64(f64::from(x));
            }
        }
    }
}

impl<'a> PackedMut<'a> {
    pub(crate) fn as_ref(&self) -> PackedRef<'_> {
        PackedRef { format: self.format, signed: self.signed, codes: self.codes, scales: self.scales }
    }

    /// The same blocks, borrowed again (to split without giving them up).
    pub(crate) fn reborrow(&mut self) -> PackedMut<'_> {
        PackedMut { format: self.format, signed: self.signed, codes: self.codes, scales: self.scales }
    }

    /// Splits at element `at`, a block boundary.
    pub(crate) fn split_at(self, at: usize) -> (PackedMut<'a>, PackedMut<'a>) {
        let (codes_at, scales_at) = (self.format.code_bytes(at), self.format.blocks(at));
        let (codes_left, codes_right) = self.codes.split_at_mut(codes_at.min(self.codes.len()));
        let (scales_left, scales_right) = self.scales.split_at_mut(scales_at.min(self.scales.len()));
        let (format, signed) = (self.format, self.signed);
        (
            PackedMut { format, signed, codes: codes_left, scales: scales_left },
            PackedMut { format, signed, codes: codes_right, scales: scales_right },
        )
    }

    /// Codes `values` into the first `values.len()` elements (whole blocks).
    pub(crate) fn encode<T: Element>(&mut self, values: &[T]) {
        self.encode_changed(values, None);
    }

    /// [`PackedMut::encode`], leaving alone every block whose values are bit for bit those of
    /// `before` (what decoding gave): re-coding an unchanged block can move it (its largest
    /// magnitude decodes below the old scale when the map has no -1), and a step that did not
    /// change a value must not change it.
    pub(crate) fn encode_changed<T: Element>(&mut self, values: &[T], before: Option<&[T]>) {
        let block = self.format.block_size();
        let mut floats = [0.0f32; MAX_BLOCK];
        for (index, chunk) in values.chunks(block).enumerate() {
            let start = index * block;
            if let Some(before) = before
                && before[start..start + chunk.len()]
                    .iter()
                    .zip(chunk)
                    .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits())
            {
                continue;
            }
            let floats = &mut floats[..chunk.len()];
            for (f, &v) in floats.iter_mut().zip(chunk) {
                *f = v.to_f64() as f32;
            }
            let codes = &mut self.codes[self.format.code_bytes(start)..];
            let scale = encode_block(self.format, self.signed, floats, codes);
            if let Some(slot) = self.scales.get_mut(index) {
                *slot = scale;
            }
        }
    }
}

fn decode_block(format: StateFormat, signed: bool, codes: &[u8], scale: f32, out: &mut [f32]) {
    match format {
        StateFormat::Int8 => codec::decode_8bit(signed, codes, scale, out),
        StateFormat::Int4 => codec::decode_4bit(signed, codes, scale, out),
        StateFormat::Fp8 => codec::decode_fp8(codes, scale, out),
        StateFormat::BFloat16 | StateFormat::Native => {
            for (v, pair) in out.iter_mut().zip(codes.chunks_exact(2)) {
                *v = codec::from_bf16(u16::from_le_bytes([pair[0], pair[1]]));
            }
        }
    }
}

fn encode_block(format: StateFormat, signed: bool, values: &[f32], codes: &mut [u8]) -> f32 {
    match format {
        StateFormat::Int8 => codec::encode_8bit(signed, values, codes),
        StateFormat::Int4 => codec::encode_4bit(signed, values, codes),
        StateFormat::Fp8 => codec::encode_fp8(values, codes),
        StateFormat::BFloat16 | StateFormat::Native => {
            for (pair, &v) in codes.chunks_exact_mut(2).zip(values) {
                pair.copy_from_slice(&codec::to_bf16(v).to_le_bytes());
            }
            1.0
        }
    }
}
