// Selective scan of channel-last operands, one warp per channel, lanes across time.
//
// Compiled at run time by NVRTC (restore_cli/ops/scan/cuda.py prepends the #defines below), so it needs
// no compiler on the user's machine and no CUDA headers: 16-bit values are carried as raw bits and
// converted with one PTX instruction each.
//
// Why this layout. Mamba-1's decay exp(delta * A) differs per step, channel and state, so every update
// costs one exponential; our Triton kernel walks each channel's steps one by one and, to fill the GPU,
// splits time into chunks that are walked twice (chunk-end states, then outputs), i.e. two exponentials
// per update. Here a warp owns one channel and a tile of 32 * K_ITEMS consecutive steps, K_ITEMS per
// lane, and scans across its lanes (mamba-ssm's CUDA kernel does the same across a block's threads):
// for each state n, every lane folds its K steps into one affine map h -> P h + H, an inclusive scan of
// those maps over the 32 lanes (5 shuffle rounds) gives every lane its entering state, and the lane walks
// its K steps again from registers to form the outputs. Each exponential is computed once, and the K
// steps of a lane are independent work for the exponential unit while the scan waits on shuffles.
//
// A block holds CT warps, i.e. CT neighbouring channels of one route, and stages each tile's operands
// through shared memory with loads that are contiguous along channels (a lane's K steps are K different
// pixels, far apart in memory). B_t and C_t are the same for every channel of a route, so they are
// staged once per block. Shared-memory rows are laid out lane-major with a stride of K_ITEMS + 4 floats
// (K_ITEMS for K_ITEMS == 4), so that each lane's float4 reads are free of bank conflicts.
//
// Routes (MambaIR v1's cross scan; G == 1 is a plain scan over the token order): route g reads step t at
// row-major pixel s = t, or s = L - 1 - t for g >= 2; odd routes are column-major, pixel
// (s % height) * width + s / height. With OUT_KIND == 3 the output is float32 and the four routes add
// into it (atomics, relaxed: the adds commute and nothing reads y before the kernel ends).
//
// PASS 0 scans [start, stop) of each split from a zero state and stores outputs; PASS 1 stores only the
// split's end state and sum of deltas (for the carry between splits); PASS 2 starts from the carried
// state h0 and stores outputs. Splits exist only where the channels alone cannot fill the GPU.
//
// Defines: IN_KIND (u), DT_KIND (delta), BC_KIND (B, C): 0 float32, 1 bfloat16, 2 float16. OUT_KIND: 0, 1, 2 the
// same, or 3 float32 atomic add. N_STATE, N_PAD (state layout of h0/hend), K_ITEMS (multiple of 4), CT,
// UD_VEC, BC_VEC (elements per vector load), HAS_D, HAS_BIAS, SOFTPLUS, PASS.

typedef unsigned short bits16;

__device__ __forceinline__ float bf16_to_f32(bits16 x) { return __uint_as_float(((unsigned int)x) << 16); }

__device__ __forceinline__ float f16_to_f32(bits16 x) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x));
    return f;
}

__device__ __forceinline__ bits16 f32_to_bf16(float x) {
    bits16 r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}

__device__ __forceinline__ bits16 f32_to_f16(float x) {
    bits16 r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}

__device__ __forceinline__ float ex2(float x) {  // 2^x by the special-function unit (2 ulp)
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

__device__ __forceinline__ float lg2(float x) {
    float r;
    asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

// log1p(exp(x)) below 20, x above (torch's threshold). For e = exp(x) < 0.135 a Taylor series (so small
// deltas keep their relative precision), else ln 2 * log2(1 + e); as the Triton kernel's softplus.
__device__ __forceinline__ float softplus(float x) {
    float e = ex2(fminf(x, 20.0f) * 1.4426950408889634f);
    float series = e * (1.0f + e * (-0.5f + e * (0.3333333333f + e * (-0.25f + e * (0.2f + e * (
        -0.1666666667f + e * (0.1428571429f + e * -0.125f)))))));
    float log1p_e = e < 0.135f ? series : lg2(1.0f + e) * 0.6931471805599453f;
    return x <= 20.0f ? log1p_e : x;
}

#if IN_KIND == 0
typedef float in_t;
#define IN_F32(x) (x)
#elif IN_KIND == 1
typedef bits16 in_t;
#define IN_F32(x) bf16_to_f32(x)
#else
typedef bits16 in_t;
#define IN_F32(x) f16_to_f32(x)
#endif

#if DT_KIND == 0
typedef float dt_t;
#define DT_F32(x) (x)
#elif DT_KIND == 1
typedef bits16 dt_t;
#define DT_F32(x) bf16_to_f32(x)
#else
typedef bits16 dt_t;
#define DT_F32(x) f16_to_f32(x)
#endif

#if BC_KIND == 0
typedef float bc_t;
#define BC_F32(x) (x)
#elif BC_KIND == 1
typedef bits16 bc_t;
#define BC_F32(x) bf16_to_f32(x)
#else
typedef bits16 bc_t;
#define BC_F32(x) f16_to_f32(x)
#endif

#if OUT_KIND == 0 || OUT_KIND == 3
typedef float out_t;
#define OUT_FROM_F32(x) (x)
#elif OUT_KIND == 1
typedef bits16 out_t;
#define OUT_FROM_F32(x) f32_to_bf16(x)
#else
typedef bits16 out_t;
#define OUT_FROM_F32(x) f32_to_f16(x)
#endif

#define TILE (32 * K_ITEMS)
#define LANE_STRIDE (K_ITEMS == 4 ? 4 : K_ITEMS + 4)
#define SLAB (32 * LANE_STRIDE)
#define FULL_MASK 0xffffffffu

// Where row r of a tile (step t0 + r) lives in a slab: lane r / K_ITEMS, item r % K_ITEMS.
__device__ __forceinline__ int slab_index(int r) { return (r / K_ITEMS) * LANE_STRIDE + (r % K_ITEMS); }

__device__ __forceinline__ void read_items(const float* row, float* out) {
#pragma unroll
    for (int k = 0; k < K_ITEMS; k += 4) {
        float4 v = *reinterpret_cast<const float4*>(row + k);
        out[k] = v.x;
        out[k + 1] = v.y;
        out[k + 2] = v.z;
        out[k + 3] = v.w;
    }
}

#define THREADS (32 * CT)
#define UD_PACKS ((TILE * (CT / UD_VEC) + THREADS - 1) / THREADS)       // u/delta packs per thread
#define BC_PACKS ((TILE * (N_STATE / BC_VEC) + THREADS - 1) / THREADS)  // B (and C) packs per thread

// UD_VEC (BC_VEC) neighbouring channels (states) read as one vector load; the launcher picks the widest
// that the strides, the pointers' alignment and the sizes allow (1 = scalar loads).
template <typename T, int E>
struct __align__(sizeof(T) * E) Pack {
    T v[E];
};

// One tile's operands in registers, as loaded: the next tile's loads are issued before the current tile
// is computed and stored to shared memory after it (software pipelining), so a block does not wait on
// memory between tiles. Vector loads keep the registers this needs few.
struct TilePacks {
    Pack<in_t, UD_VEC> u_v[UD_PACKS];
    Pack<dt_t, UD_VEC> dt_v[UD_PACKS];
    Pack<bc_t, BC_VEC> B_v[BC_PACKS];
    Pack<bc_t, BC_VEC> C_v[BC_PACKS];
};

#define UD_ITEMS (TILE * (CT / UD_VEC))
#define BC_ITEMS (TILE * (N_STATE / BC_VEC))

// Issue every load of a tile (compile-time trip counts, unrolled; contiguous along channels and states).
__device__ __forceinline__ void load_tile(
    TilePacks& tp, const in_t* __restrict__ u, const dt_t* __restrict__ dt, const bc_t* __restrict__ Bm,
    const bc_t* __restrict__ Cm, const int* pix_s, int c0, int per_group, long long u_base, long long t_base,
    long long B_base, long long C_base, int s_ul, int s_ud, int s_tl, int s_td, int s_Bl, int s_Bn, int s_Cl,
    int s_Cn) {
#pragma unroll
    for (int it = 0; it < UD_PACKS; ++it) {
        int i = min(threadIdx.x + it * THREADS, UD_ITEMS - 1);
        // a pack past the last channel reads the last whole pack (per_group is a multiple of UD_VEC)
        long long ch = min(c0 + (i % (CT / UD_VEC)) * UD_VEC, per_group - UD_VEC);
        long long p = pix_s[i / (CT / UD_VEC)];
        tp.u_v[it] = *reinterpret_cast<const Pack<in_t, UD_VEC>*>(u + u_base + p * s_ul + ch * s_ud);
        tp.dt_v[it] = *reinterpret_cast<const Pack<dt_t, UD_VEC>*>(dt + t_base + p * s_tl + ch * s_td);
    }
#pragma unroll
    for (int it = 0; it < BC_PACKS; ++it) {
        int i = min(threadIdx.x + it * THREADS, BC_ITEMS - 1);
        long long p = pix_s[i / (N_STATE / BC_VEC)];
        long long n = (i % (N_STATE / BC_VEC)) * BC_VEC;
        tp.B_v[it] = *reinterpret_cast<const Pack<bc_t, BC_VEC>*>(Bm + B_base + p * s_Bl + n * s_Bn);
        if (PASS != 1)
            tp.C_v[it] = *reinterpret_cast<const Pack<bc_t, BC_VEC>*>(Cm + C_base + p * s_Cl + n * s_Cn);
    }
}

// Convert a loaded tile to float32 and scatter it into the lane-major slabs.
__device__ __forceinline__ void store_tile(const TilePacks& tp, float* u_s, float* dt_s, float* B_s, float* C_s) {
#pragma unroll
    for (int it = 0; it < UD_PACKS; ++it) {
        int i = threadIdx.x + it * THREADS;
        if (UD_PACKS * THREADS == UD_ITEMS || i < UD_ITEMS) {
            int r = i / (CT / UD_VEC);
            int j0 = (i % (CT / UD_VEC)) * UD_VEC;
#pragma unroll
            for (int e = 0; e < UD_VEC; ++e) {
                int at = (j0 + e) * SLAB + slab_index(r);
                u_s[at] = IN_F32(tp.u_v[it].v[e]);
                dt_s[at] = DT_F32(tp.dt_v[it].v[e]);
            }
        }
    }
#pragma unroll
    for (int it = 0; it < BC_PACKS; ++it) {
        int i = threadIdx.x + it * THREADS;
        if (BC_PACKS * THREADS == BC_ITEMS || i < BC_ITEMS) {
            int r = i / (N_STATE / BC_VEC);
            int n0 = (i % (N_STATE / BC_VEC)) * BC_VEC;
#pragma unroll
            for (int e = 0; e < BC_VEC; ++e) {
                int at = (n0 + e) * SLAB + slab_index(r);
                B_s[at] = BC_F32(tp.B_v[it].v[e]);
                if (PASS != 1) C_s[at] = BC_F32(tp.C_v[it].v[e]);
            }
        }
    }
}

// Pixel of each step of the tile starting at t0 on route (reverse, column_major); clamped past stop.
__device__ __forceinline__ void tile_pixels(int* pix_s, int t0, int stop, int length, int height, int width,
                                            int reverse, int column_major) {
    for (int r = threadIdx.x; r < TILE; r += THREADS) {
        int t = min(t0 + r, stop - 1);
        int s = reverse ? length - 1 - t : t;
        pix_s[r] = column_major ? (s % height) * width + s / height : s;
    }
}

extern "C" __global__ void __launch_bounds__(32 * CT, MIN_BLOCKS) scan_tokens(
    const in_t* __restrict__ u, const dt_t* __restrict__ dt, const float* __restrict__ A2,
    const bc_t* __restrict__ Bm, const bc_t* __restrict__ Cm, const float* __restrict__ Dv,
    const float* __restrict__ bias_v, out_t* __restrict__ y, const float* __restrict__ h0,
    float* __restrict__ hend, float* __restrict__ dtsum,
    int length, int height, int width, int per_group, int dim, int split_len, int n_splits,
    int s_ub, int s_ul, int s_ud, int s_tb, int s_tl, int s_td,
    int s_Bb, int s_Bl, int s_Bg, int s_Bn, int s_Cb, int s_Cl, int s_Cg, int s_Cn,
    int s_yb, int s_yl, int s_yd) {
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    extern __shared__ float4 smem4[];
    float* u_s = reinterpret_cast<float*>(smem4);  // [CT][SLAB], later the outputs
    float* dt_s = u_s + CT * SLAB;                  // [CT][SLAB]
    float* B_s = dt_s + CT * SLAB;                  // [N_STATE][SLAB]
    float* C_s = B_s + N_STATE * SLAB;              // [N_STATE][SLAB]
    int* pix_s = reinterpret_cast<int*>(C_s + N_STATE * SLAB);  // [2][TILE]: this tile's and the next's
    // Per channel, in shared memory rather than in every lane's registers (they are warp-uniform):
    // A * log2(e) of the warp's channel (the decay is 2^(delta a2)): warp-uniform, so in shared memory
    // rather than in every lane's registers.
    float* a2_s = reinterpret_cast<float*>(pix_s + 2 * TILE) + warp * 3 * N_STATE;
    // The channel's state entering the tile, double-buffered by tile parity: lane 0 reads this tile's,
    // lane 31 writes the next tile's, and the block barrier between tiles orders the two.
    float* h_carry_s = a2_s + N_STATE;

    const int c0 = blockIdx.x * CT;
    const int g = blockIdx.y;
    const int b = blockIdx.z / n_splits;
    const int split = blockIdx.z % n_splits;
    const int c = c0 + warp;
    const int route_c = g * per_group + min(c, per_group - 1);  // A, D, bias and delta channel
    const int reverse = g >= 2;
    const int column_major = g & 1;
    const int start = split * split_len;
    const int stop = min(length, start + split_len);
    if (start >= stop) return;

    const float d_skip = HAS_D ? Dv[route_c] : 0.0f;
    const float bias = HAS_BIAS ? bias_v[route_c] : 0.0f;
    const long long state_row = (long long)(b * n_splits + split) * N_PAD;
    if (lane < N_STATE) {
        a2_s[lane] = A2[route_c * N_STATE + lane];
        h_carry_s[lane] = PASS == 2 ? h0[(state_row + lane) * dim + route_c] : 0.0f;
    }
    int parity = 0;
    float delta_total = 0.0f;

    const long long u_base = (long long)b * s_ub;
    const long long t_base = (long long)b * s_tb + (long long)g * per_group * s_td;
    const long long B_base = (long long)b * s_Bb + (long long)g * s_Bg;
    const long long C_base = (long long)b * s_Cb + (long long)g * s_Cg;

    int* pix_cur = pix_s;
    int* pix_next = pix_s + TILE;
    TilePacks tp;
    tile_pixels(pix_cur, start, stop, length, height, width, reverse, column_major);
    __syncthreads();
    load_tile(tp, u, dt, Bm, Cm, pix_cur, c0, per_group, u_base, t_base, B_base, C_base, s_ul, s_ud, s_tl, s_td,
              s_Bl, s_Bn, s_Cl, s_Cn);
    store_tile(tp, u_s, dt_s, B_s, C_s);
    if (start + TILE < stop) tile_pixels(pix_next, start + TILE, stop, length, height, width, reverse, column_major);
    __syncthreads();

    for (int t0 = start; t0 < stop; t0 += TILE) {
        const bool more = t0 + TILE < stop;
        if (more)  // the next tile's loads, in flight while this one computes
            load_tile(tp, u, dt, Bm, Cm, pix_next, c0, per_group, u_base, t_base, B_base, C_base, s_ul, s_ud, s_tl,
                      s_td, s_Bl, s_Bn, s_Cl, s_Cn);

        float delta[K_ITEMS], du[K_ITEMS], yk[K_ITEMS];
        read_items(u_s + warp * SLAB + lane * LANE_STRIDE, du);
        read_items(dt_s + warp * SLAB + lane * LANE_STRIDE, delta);
        float delta_lane = 0.0f;
#pragma unroll
        for (int k = 0; k < K_ITEMS; ++k) {
            float d = delta[k] + bias;
            if (SOFTPLUS) d = softplus(d);
            if (t0 + lane * K_ITEMS + k >= stop) d = 0.0f;  // past the end: the identity step
            delta[k] = d;
            yk[k] = d_skip * du[k];
            du[k] *= d;
            delta_lane += d;
        }
        delta_total += delta_lane;
        // Round r of the scan below combines lane l with lane l - 2^r, and lane l's map then spans the
        // 2^r lanes ending at l, so its decay is 2^(a2 * span[r]) with span[r] the sum of those lanes'
        // deltas. The spans do not depend on the state: summed once per tile (4 shuffles), they leave each
        // state's scan one shuffle a round instead of two.
        float span[5];
        span[0] = delta_lane;
#pragma unroll
        for (int r = 1; r < 5; ++r) {
            const int d = 1 << (r - 1);
            float earlier = __shfl_up_sync(FULL_MASK, span[r - 1], d);
            span[r] = span[r - 1] + (lane >= d ? earlier : 0.0f);
        }
        const float* h_in = h_carry_s + parity * N_STATE;

#pragma unroll
        for (int n = 0; n < N_STATE; ++n) {
            const float a2 = a2_s[n];
            float bk[K_ITEMS], decay[K_ITEMS];
            read_items(B_s + n * SLAB + lane * LANE_STRIDE, bk);
            // Fold the lane's steps into h -> P h + H; lane 0 starts from the tile's entering state, so its
            // H is already the true state after its steps.
            float H = lane == 0 ? h_in[n] : 0.0f;
#pragma unroll
            for (int k = 0; k < K_ITEMS; ++k) {
                decay[k] = ex2(delta[k] * a2);
                bk[k] *= du[k];  // now delta * u * B
                H = fmaf(decay[k], H, bk[k]);
            }
            // Inclusive scan over the lanes (branch-free): lane l ends holding the true state after its
            // last step.
#pragma unroll
            for (int r = 0; r < 5; ++r) {
                const int d = 1 << r;
                float H_prev = __shfl_up_sync(FULL_MASK, H, d);
                float P = lane >= d ? ex2(span[r] * a2) : 0.0f;
                H = fmaf(P, H_prev, H);
            }
            float h = __shfl_up_sync(FULL_MASK, H, 1);
            if (lane == 0) h = h_in[n];
            if (lane == 31) h_carry_s[(parity ^ 1) * N_STATE + n] = H;
            if (PASS != 1) {
                float ck[K_ITEMS];
                read_items(C_s + n * SLAB + lane * LANE_STRIDE, ck);
#pragma unroll
                for (int k = 0; k < K_ITEMS; ++k) {
                    h = fmaf(decay[k], h, bk[k]);
                    yk[k] = fmaf(ck[k], h, yk[k]);
                }
            }
        }

        if (PASS != 1) {
            __syncwarp();  // the warp's own u slab becomes its output slab
            float* out_row = u_s + warp * SLAB + lane * LANE_STRIDE;
#pragma unroll
            for (int k = 0; k < K_ITEMS; k += 4)
                *reinterpret_cast<float4*>(out_row + k) = make_float4(yk[k], yk[k + 1], yk[k + 2], yk[k + 3]);
            __syncthreads();
            for (int i = threadIdx.x; i < TILE * CT; i += THREADS) {
                int r = i / CT;
                int j = i % CT;
                if (c0 + j < per_group && t0 + r < stop) {
                    long long at = (long long)b * s_yb + (long long)pix_cur[r] * s_yl + (long long)(c0 + j) * s_yd;
                    float v = u_s[j * SLAB + slab_index(r)];
#if OUT_KIND == 3
                    atomicAdd(y + at, v);
#else
                    y[at] = OUT_FROM_F32(v);
#endif
                }
            }
        }
        __syncthreads();  // every warp is done with this tile's shared memory
        if (more) {
            store_tile(tp, u_s, dt_s, B_s, C_s);
            if (t0 + 2 * TILE < stop)
                tile_pixels(pix_cur, t0 + 2 * TILE, stop, length, height, width, reverse, column_major);
        }
        int* swap = pix_cur;
        pix_cur = pix_next;
        pix_next = swap;
        __syncthreads();
        parity ^= 1;
    }

    if (PASS == 1) {
#pragma unroll
        for (int d = 16; d > 0; d >>= 1) delta_total += __shfl_xor_sync(FULL_MASK, delta_total, d);
        if (c < per_group) {
            if (lane < N_STATE) hend[(state_row + lane) * dim + route_c] = h_carry_s[parity * N_STATE + lane];
            if (lane == 0) dtsum[(long long)(b * n_splits + split) * dim + route_c] = delta_total;
        }
    }
}
