//! The inner loop of [`super::conv16`]'s tiles in assembly: one run of steps of a tile of
//! [`super::conv16::ROWS`] channels by `C` vectors of positions, its `8·C` `i32` sums held in
//! `zmm0`..`zmm23` from the first step to the last.
//!
//! The same loop written with intrinsics (named `__m512i` locals) was compiled with a third of
//! its accumulators spilled to the stack and a chain of register moves every step (two dozen
//! loads, stores and moves around 24 `vpdpwssd`), which held the 3x3 layers to about 55% of the
//! `vpdpwssd` rate. Here the registers are fixed: sums in `zmm0..`, the tile's position vectors
//! in `zmm24..zmm26` and the broadcast weight pairs in `zmm27..zmm30`. Each step loads `C`
//! vectors at `x + offs[s]` and the step's eight weight dwords (per row: the low-byte pair, then
//! the high-byte pair), and does `8·C` `vpdpwssd`. The instructions are the ones the intrinsics
//! named, so the sums are the same integers.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{__m512i, _mm512_setzero_si512};

/// The instructions of one row of a step: broadcast the row's low and high pairs (`w + lo`,
/// `w + hi` bytes) into `zmm$bl`, `zmm$bh`, then `vpdpwssd` each of the tile's vectors
/// (`zmm24`..) into the row's low sums `$l` and high sums `$h`.
macro_rules! row {
    ($lo:literal, $hi:literal, $bl:literal, $bh:literal, [$($l:literal $h:literal $v:literal),*]) => {
        concat!(
            "vpbroadcastd zmm", $bl, ", dword ptr [{w} + ", $lo, "]\n",
            "vpbroadcastd zmm", $bh, ", dword ptr [{w} + ", $hi, "]\n",
            $("vpdpwssd zmm", $l, ", zmm", $v, ", zmm", $bl, "\n",)*
            $("vpdpwssd zmm", $h, ", zmm", $v, ", zmm", $bh, "\n",)*
        )
    };
}

/// Zeroes the listed registers.
macro_rules! zero {
    ($($r:literal)*) => { concat!($("vpxord zmm", $r, ", zmm", $r, ", zmm", $r, "\n",)*) };
}

/// The loop's head: `{o} = offs[s]`.
macro_rules! head {
    () => {
        "2:\nmov {o}, qword ptr [{offs}]\n"
    };
}

/// The loop's tail: the next step, `n` times in all.
macro_rules! tail {
    () => {
        "add {offs}, 8\nadd {w}, 32\ndec {n}\njnz 2b\n"
    };
}

/// The `i32` halves of `n` steps of a 3-vector tile: `h[r·3 + c]` holds row `r`'s low and high
/// sums of vector `c`.
///
/// # Safety
/// AVX-512 F/BW/DQ/VL/VNNI are present, `n >= 1`, and for every step `s < n`: `offs[s]` is readable,
/// the 48 `i32`s at `x + offs[s]` are readable, and so are the 8 `i32`s at `w + 8·s`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn steps3(
    x: *const i32,
    offs: *const usize,
    w: *const i32,
    n: usize,
) -> [[__m512i; 2]; 12] {
    let mut h = [[_mm512_setzero_si512(); 2]; 12];
    // SAFETY: the caller's guarantee covers every read; every register written is declared.
    unsafe {
        std::arch::asm!(
            zero!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23),
            head!(),
            "vmovdqu64 zmm24, zmmword ptr [{x} + {o}*4]",
            "vmovdqu64 zmm25, zmmword ptr [{x} + {o}*4 + 64]",
            "vmovdqu64 zmm26, zmmword ptr [{x} + {o}*4 + 128]",
            row!(0, 4, 27, 28, [0 3 24, 1 4 25, 2 5 26]),
            row!(8, 12, 29, 30, [6 9 24, 7 10 25, 8 11 26]),
            row!(16, 20, 27, 28, [12 15 24, 13 16 25, 14 17 26]),
            row!(24, 28, 29, 30, [18 21 24, 19 22 25, 20 23 26]),
            tail!(),
            x = in(reg) x,
            offs = inout(reg) offs => _,
            w = inout(reg) w => _,
            n = inout(reg) n => _,
            o = out(reg) _,
            out("zmm0") h[0][0], out("zmm3") h[0][1],
            out("zmm1") h[1][0], out("zmm4") h[1][1],
            out("zmm2") h[2][0], out("zmm5") h[2][1],
            out("zmm6") h[3][0], out("zmm9") h[3][1],
            out("zmm7") h[4][0], out("zmm10") h[4][1],
            out("zmm8") h[5][0], out("zmm11") h[5][1],
            out("zmm12") h[6][0], out("zmm15") h[6][1],
            out("zmm13") h[7][0], out("zmm16") h[7][1],
            out("zmm14") h[8][0], out("zmm17") h[8][1],
            out("zmm18") h[9][0], out("zmm21") h[9][1],
            out("zmm19") h[10][0], out("zmm22") h[10][1],
            out("zmm20") h[11][0], out("zmm23") h[11][1],
            out("zmm24") _, out("zmm25") _, out("zmm26") _,
            out("zmm27") _, out("zmm28") _, out("zmm29") _, out("zmm30") _,
            options(nostack, readonly),
        );
    }
    h
}

/// [`steps3`] for a 2-vector tile (`h[r·2 + c]`; 32 `i32`s read per step).
///
/// # Safety
/// As [`steps3`], with 32 `i32`s at `x + offs[s]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn steps2(
    x: *const i32,
    offs: *const usize,
    w: *const i32,
    n: usize,
) -> [[__m512i; 2]; 8] {
    let mut h = [[_mm512_setzero_si512(); 2]; 8];
    // SAFETY: the caller's guarantee covers every read; every register written is declared.
    unsafe {
        std::arch::asm!(
            zero!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15),
            head!(),
            "vmovdqu64 zmm24, zmmword ptr [{x} + {o}*4]",
            "vmovdqu64 zmm25, zmmword ptr [{x} + {o}*4 + 64]",
            row!(0, 4, 27, 28, [0 2 24, 1 3 25]),
            row!(8, 12, 29, 30, [4 6 24, 5 7 25]),
            row!(16, 20, 27, 28, [8 10 24, 9 11 25]),
            row!(24, 28, 29, 30, [12 14 24, 13 15 25]),
            tail!(),
            x = in(reg) x,
            offs = inout(reg) offs => _,
            w = inout(reg) w => _,
            n = inout(reg) n => _,
            o = out(reg) _,
            out("zmm0") h[0][0], out("zmm2") h[0][1],
            out("zmm1") h[1][0], out("zmm3") h[1][1],
            out("zmm4") h[2][0], out("zmm6") h[2][1],
            out("zmm5") h[3][0], out("zmm7") h[3][1],
            out("zmm8") h[4][0], out("zmm10") h[4][1],
            out("zmm9") h[5][0], out("zmm11") h[5][1],
            out("zmm12") h[6][0], out("zmm14") h[6][1],
            out("zmm13") h[7][0], out("zmm15") h[7][1],
            out("zmm24") _, out("zmm25") _,
            out("zmm27") _, out("zmm28") _, out("zmm29") _, out("zmm30") _,
            options(nostack, readonly),
        );
    }
    h
}

/// [`steps3`] for a 1-vector tile (`h[r]`; 16 `i32`s read per step).
///
/// # Safety
/// As [`steps3`], with 16 `i32`s at `x + offs[s]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) unsafe fn steps1(
    x: *const i32,
    offs: *const usize,
    w: *const i32,
    n: usize,
) -> [[__m512i; 2]; 4] {
    let mut h = [[_mm512_setzero_si512(); 2]; 4];
    // SAFETY: the caller's guarantee covers every read; every register written is declared.
    unsafe {
        std::arch::asm!(
            zero!(0 1 2 3 4 5 6 7),
            head!(),
            "vmovdqu64 zmm24, zmmword ptr [{x} + {o}*4]",
            row!(0, 4, 27, 28, [0 1 24]),
            row!(8, 12, 29, 30, [2 3 24]),
            row!(16, 20, 27, 28, [4 5 24]),
            row!(24, 28, 29, 30, [6 7 24]),
            tail!(),
            x = in(reg) x,
            offs = inout(reg) offs => _,
            w = inout(reg) w => _,
            n = inout(reg) n => _,
            o = out(reg) _,
            out("zmm0") h[0][0], out("zmm1") h[0][1],
            out("zmm2") h[1][0], out("zmm3") h[1][1],
            out("zmm4") h[2][0], out("zmm5") h[2][1],
            out("zmm6") h[3][0], out("zmm7") h[3][1],
            out("zmm24") _,
            out("zmm27") _, out("zmm28") _, out("zmm29") _, out("zmm30") _,
            options(nostack, readonly),
        );
    }
    h
}
