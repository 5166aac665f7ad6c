//! A state tensor stored in a compact format: its codes, and one float32 scale per block.

use super::StateFormat;
use super::codec;
use super::qmap::map_4bit;
use super::search::{search_4bit, search_8bit};
use crate::simd::{Call, at_level};
use crate::{Element, SimdLevel};

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
        packed.view_mut().encode(SimdLevel::detected(), values);
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
        self.view().decode(SimdLevel::detected(), &mut out);
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

    /// Decodes the first `out.len()` elements (whole blocks, or the tensor's end) into `out`,
    /// with the clones of `level`.
    pub(crate) fn decode<T: Element>(self, level: SimdLevel, out: &mut [T]) {
        at_level(level, Decode { level: level.effective(), blocks: self, out });
    }

    /// [`PackedRef::decode`] in the code it is inlined into, for loops that run inside one of
    /// [`at_level`]'s clones already (`level` is that clone's, [`SimdLevel::effective`]).
    #[inline(always)]
    pub(crate) fn decode_here<T: Element>(self, level: SimdLevel, out: &mut [T]) {
        if let Some(out) = T::as_f32_mut(out) {
            return decode_f32(level, self, out);
        }
        let mut floats = [0.0f32; MAX_BLOCK];
        for (index, chunk) in out.chunks_mut(MAX_BLOCK).enumerate() {
            let floats = &mut floats[..chunk.len()];
            decode_f32(level, self.from(index * MAX_BLOCK), floats);
            for (v, &x) in chunk.iter_mut().zip(floats.iter()) {
                *v = T::from_f32(x);
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

    /// Codes `values` into the first `values.len()` elements (whole blocks), with the clones of
    /// `level`.
    pub(crate) fn encode<T: Element>(&mut self, level: SimdLevel, values: &[T]) {
        self.encode_changed(level, values, None);
    }

    /// [`PackedMut::encode`], leaving alone every block whose values are bit for bit those of
    /// `before` (what decoding gave): re-coding an unchanged block can move it (its largest
    /// magnitude decodes below the old scale when the map has no -1), and a step that did not
    /// change a value must not change it.
    pub(crate) fn encode_changed<T: Element>(&mut self, level: SimdLevel, values: &[T], before: Option<&[T]>) {
        at_level(level, Encode { level: level.effective(), blocks: self.reborrow(), values, before });
    }

    /// [`PackedMut::encode_changed`] in the code it is inlined into (see
    /// [`PackedRef::decode_here`]).
    #[inline(always)]
    pub(crate) fn encode_changed_here<T: Element>(&mut self, level: SimdLevel, values: &[T], before: Option<&[T]>) {
        let block = self.format.block_size();
        let code_bytes = self.format.code_bytes(block);
        // bfloat16 has no scales, so no largest magnitude to find
        let scaled = !self.scales.is_empty();
        let mut floats = [0.0f32; MAX_BLOCK];
        let mut scales = self.scales.iter_mut();
        for (index, (chunk, codes)) in values.chunks(block).zip(self.codes.chunks_mut(code_bytes)).enumerate() {
            let slot = scales.next();
            let before = before.map(|before| &before[index * block..index * block + chunk.len()]);
            let unchanged = |before: Option<&[T]>| before.is_some_and(|before| same_bits(before, chunk));
            let (chunk, absmax, changed) = match (T::as_f32(chunk), before.and_then(T::as_f32)) {
                // the change and the largest magnitude in one pass over the block
                (Some(chunk), Some(before)) if scaled => {
                    let (absmax, changed) = codec::absmax_bits_and_change(chunk, before);
                    (chunk, absmax, changed)
                }
                (Some(chunk32), _) => {
                    (chunk32, if scaled { codec::absmax_bits(chunk32) } else { 0 }, !unchanged(before))
                }
                (None, _) => {
                    for (f, &v) in floats.iter_mut().zip(chunk) {
                        *f = v.to_f32();
                    }
                    let floats = &floats[..chunk.len()];
                    (floats, if scaled { codec::absmax_bits(floats) } else { 0 }, !unchanged(before))
                }
            };
            if !changed {
                continue;
            }
            let scale = codec::block_scale(absmax, self.format == StateFormat::Fp8);
            match self.format {
                StateFormat::Int8 => codec::encode_8bit(level, search_8bit(self.signed), chunk, scale, codes),
                StateFormat::Int4 => codec::encode_4bit(level, search_4bit(self.signed), chunk, scale, codes),
                StateFormat::Fp8 => codec::encode_fp8(chunk, scale, codes),
                StateFormat::BFloat16 | StateFormat::Native => codec::encode_bf16(chunk, codes),
            }
            if let Some(slot) = slot {
                *slot = scale;
            }
        }
    }
}

/// A decoding, as one call for [`at_level`]'s clones.
struct Decode<'a, 'b, T> {
    level: SimdLevel,
    blocks: PackedRef<'a>,
    out: &'b mut [T],
}

impl<T: Element> Call for Decode<'_, '_, T> {
    #[inline(always)]
    fn call(self) {
        self.blocks.decode_here(self.level, self.out);
    }
}

/// Decodes into float32s, the format chosen once and the block loop within it.
#[inline(always)]
fn decode_f32(level: SimdLevel, blocks: PackedRef<'_>, out: &mut [f32]) {
    let PackedRef { format, signed, codes, scales } = blocks;
    let block = format.block_size();
    let chunks = out.chunks_mut(block).zip(scales);
    match format {
        StateFormat::Int8 => {
            for ((chunk, &scale), codes) in chunks.zip(codes.chunks(block)) {
                codec::decode_8bit(level, signed, codes, scale, chunk);
            }
        }
        StateFormat::Int4 => {
            let map = map_4bit(signed);
            for ((chunk, &scale), codes) in chunks.zip(codes.chunks(block / 2)) {
                codec::decode_4bit(level, map, codes, scale, chunk);
            }
        }
        StateFormat::Fp8 => {
            for ((chunk, &scale), codes) in chunks.zip(codes.chunks(block)) {
                codec::decode_fp8(level, codes, scale, chunk);
            }
        }
        StateFormat::BFloat16 | StateFormat::Native => codec::decode_bf16(codes, out),
    }
}

/// An encoding, as one call for [`at_level`]'s clones.
struct Encode<'a, 'b, T> {
    level: SimdLevel,
    blocks: PackedMut<'a>,
    values: &'b [T],
    before: Option<&'b [T]>,
}

impl<T: Element> Call for Encode<'_, '_, T> {
    #[inline(always)]
    fn call(mut self) {
        self.blocks.encode_changed_here(self.level, self.values, self.before);
    }
}

/// Whether two runs of values are the same bits, without an early exit (so it vectorises).
#[inline(always)]
fn same_bits<T: Element>(a: &[T], b: &[T]) -> bool {
    if let (Some(a), Some(b)) = (T::as_f32(a), T::as_f32(b)) {
        return a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x.to_bits() ^ y.to_bits())) == 0;
    }
    a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x.bits() ^ y.bits())) == 0
}
