// MambaIR v1's four-route scan of channel-last tokens in ONE walk: lanes across states, no time chunks.
//
// Compiled at run time by NVRTC (restore_cli/ops/scan/state_lanes.py prepends the #defines below), so it
// needs no compiler on the user's machine and no CUDA headers: 16-bit values are carried as raw bits and
// converted with one instruction each.
//
// Why. Mamba-1's decay exp(delta * A) differs per step, channel and state, so every update costs one
// exponential, and the SM's 16 exponential lanes per clock bound the scan. Our Triton kernel gives each
// thread a channel with all its states, so a route has only E threads; to fill the GPU it splits time into
// chunks and walks every step twice (chunk-end states, then outputs): two exponentials per update. Here a
// warp holds 2 channels x 16 states, one state per lane, so a route has 16 E lanes, and with MambaIR v1's
// four routes and E >= ~256 that fills the GPU without splitting time: each route is walked once, from its
// first step to its last, and each exponential is computed once. (Narrow models, E = 120, and MambaIRv2's
// single route keep the Triton kernel: too few lanes here.)
//
// A block is NW warps = 2 NW neighbouring channels of one route. Time goes in tiles of T steps, staged
// through shared memory with the next tile's global loads in flight while the current one computes:
// per step and channel delta (bias added, softplus) and delta * u, per step and state B_t and C_t (as
// float32, transposed so a lane reads four steps of its state with one 16-byte load), and the step's
// pixel. Each lane then walks its state: h = exp2(delta A log2 e) h + delta u B_t, p = C_t h. Every 16
// steps the 16 lanes of a channel hold 16 products each; they swap them through shared memory so lane j
// sums the 16 states of step j (a transposed reduction: 4 stores and 16 loads per lane, instead of a
// 4-round shuffle reduction per step) and adds the result into the merged output (float32
// atomic adds, relaxed: the four routes' adds commute and nothing reads y before the kernel ends).
// The skip term D u of the four routes is the output's initial value, (D_0 + D_1 + D_2 + D_3) u, set by
// the launcher.
//
// Routes: route g reads step t at s = t (g < 2) or s = L - 1 - t (g >= 2); even routes take pixel s
// (row-major), odd routes pixel (s % height) * width + s / height (column-major).
//
// Defines: IN_KIND (u), DT_KIND (delta), BC_KIND (B, C): 0 float32, 1 bfloat16, 2 float16. N_STATE
// (<= 16; lanes past it hold a zero state), NW (warps a block), T (steps a tile), HAS_BIAS, SOFTPLUS.

typedef unsigned short bits16;

__device__ __forceinline__ float bf16_to_f32(bits16 x) { return __uint_as_float(((unsigned int)x) << 16); }

__device__ __forceinline__ float f16_to_f32(bits16 x) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x));
    return f;
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

#define LANES_PER_CHANNEL 16
#define CB (2 * NW)                 // channels a block
#define THREADS (32 * NW)
#ifndef T
#define T 64                        // steps a tile (a multiple of 16)
#endif
#define BC_STRIDE (T + 4)           // row stride of the transposed B/C tiles (16-byte aligned rows)
#define RED_STRIDE 20               // floats a lane's 16 products take in the reduction buffer
#define DU_STRIDE (2 * T + 4)       // floats a channel's (dt, dt u) row takes (two channels, two bank sets)
#define UD_ITEMS (T * CB / THREADS)             // (step, channel) items a thread stages: T / 16
#define BC_ITEMS (T * LANES_PER_CHANNEL / THREADS)  // (step, state) items a thread stages: 32 / NW

#define RED_WARP (32 * RED_STRIDE + 16)
#define OFF_B (2 * CB * DU_STRIDE * 4)
#define OFF_C (OFF_B + 2 * LANES_PER_CHANNEL * BC_STRIDE * 4)
#define OFF_RED (OFF_C + 2 * LANES_PER_CHANNEL * BC_STRIDE * 4)
#define OFF_PIX (OFF_RED + NW * RED_WARP * 4)
#define SMEM_BYTES (OFF_PIX + 3 * T * 4)

struct Staged {  // one thread's share of the next tile, as loaded (converted when stored)
    dt_t dt[UD_ITEMS];
    in_t u[UD_ITEMS];
    bc_t b[BC_ITEMS];
    bc_t c[BC_ITEMS];
};

__device__ __forceinline__ int route_pixel(int t, int length, int height, int width, int route) {
    int s = route >= 2 ? length - 1 - t : t;
    return (route & 1) ? (s % height) * width + s / height : s;
}

extern "C" __global__ void __launch_bounds__(THREADS) scan_state_lanes(
    const in_t* __restrict__ u, const dt_t* __restrict__ delta, const float* __restrict__ A2,
    const bc_t* __restrict__ Bm, const bc_t* __restrict__ Cm,
    const float* __restrict__ bias, float* __restrict__ y,
    int length, int height, int width, int dim,
    int s_ub, int s_ul, int s_ue, int s_tb, int s_tl, int s_te,
    int s_Bb, int s_Bl, int s_Bg, int s_Bn, int s_Cb, int s_Cl, int s_Cg, int s_Cn,
    int s_yb, int s_yl, int s_ye) {
    // Shared memory (dynamic, SMEM_BYTES; the launcher computes the same sum): (dt, dt * u) per channel and
    // step, and B/C per state and step, transposed, for two tiles (the one computing, the one being
    // staged); the pixel of every step (-1 past the end) for three tiles (computing, staging, next); each
    // warp's reduction buffer.
    extern __shared__ __align__(16) unsigned char smem[];
    auto s_du = reinterpret_cast<float (*)[CB][DU_STRIDE]>(smem);
    auto s_B = reinterpret_cast<float (*)[LANES_PER_CHANNEL][BC_STRIDE]>(smem + OFF_B);
    auto s_C = reinterpret_cast<float (*)[LANES_PER_CHANNEL][BC_STRIDE]>(smem + OFF_C);
    auto s_red = reinterpret_cast<float (*)[RED_WARP]>(smem + OFF_RED);
    auto s_pix = reinterpret_cast<int (*)[T]>(smem + OFF_PIX);

    const int tid = threadIdx.x;
    const int warp = tid >> 5, lane = tid & 31;
    const int half = lane >> 4, n = lane & 15;  // this lane's channel of the warp's two, and its state
    const int route = blockIdx.y;
    const int c0 = blockIdx.x * CB;
    const long long b = blockIdx.z;
    const int channel = c0 + warp * 2 + half;  // within the route (= the image channel)
    const bool live = channel < dim;
    const int rc = route * dim + (live ? channel : dim - 1);  // the route channel (A, D, bias, delta)

    const float a2 = (live && n < N_STATE) ? A2[(long long)rc * N_STATE + n] : 0.0f;

    const in_t* u_b = u + b * s_ub;
    const dt_t* t_b = delta + b * s_tb + (long long)route * dim * s_te;
    const bc_t* B_b = Bm + b * s_Bb + (long long)route * s_Bg;
    const bc_t* C_b = Cm + b * s_Cb + (long long)route * s_Cg;
    float* y_b = y + b * s_yb;

    const int n_tiles = (length + T - 1) / T;

    // Staging assignment: item k of the (step, channel) tile is step tid / CB + k * (THREADS / CB), channel
    // tid % CB (neighbouring threads read neighbouring channels of one pixel); item k of the (step, state)
    // tile is step tid / 16 + k * (THREADS / 16), state tid % 16.
    const int ud_c = tid % CB, ud_r0 = tid / CB;
    const int bc_n = tid % LANES_PER_CHANNEL, bc_r0 = tid / LANES_PER_CHANNEL;
    const int ud_channel = min(c0 + ud_c, dim - 1);
    const bool ud_live = c0 + ud_c < dim;
    const float ud_bias =
#if HAS_BIAS
        bias[route * dim + ud_channel];
#else
        0.0f;
#endif
    const int bc_state = min(bc_n, N_STATE - 1);

    auto pixels = [&](int tile, int slot) {  // the pixels of a tile's steps into s_pix[slot]
        for (int r = tid; r < T; r += THREADS) {
            int t = tile * T + r;
            s_pix[slot][r] = t < length ? route_pixel(t, length, height, width, route) : -1;
        }
    };
    auto load = [&](int slot, Staged& st) {  // issue the global loads of the tile whose pixels are in slot
#pragma unroll
        for (int k = 0; k < UD_ITEMS; ++k) {
            int pix = max(s_pix[slot][ud_r0 + k * (THREADS / CB)], 0);
            st.dt[k] = t_b[(long long)pix * s_tl + (long long)ud_channel * s_te];
            st.u[k] = u_b[(long long)pix * s_ul + (long long)ud_channel * s_ue];
        }
#pragma unroll
        for (int k = 0; k < BC_ITEMS; ++k) {
            int pix = max(s_pix[slot][bc_r0 + k * (THREADS / LANES_PER_CHANNEL)], 0);
            st.b[k] = B_b[(long long)pix * s_Bl + (long long)bc_state * s_Bn];
            st.c[k] = C_b[(long long)pix * s_Cl + (long long)bc_state * s_Cn];
        }
    };
    auto store = [&](int slot, int buf, const Staged& st) {  // convert and place a loaded tile
#pragma unroll
        for (int k = 0; k < UD_ITEMS; ++k) {
            int r = ud_r0 + k * (THREADS / CB);
            bool valid = s_pix[slot][r] >= 0;
            float dt = DT_F32(st.dt[k]) + ud_bias;
#if SOFTPLUS
            dt = softplus(dt);
#endif
            dt = valid && ud_live ? dt : 0.0f;  // a step past the end (or a padding channel) is the identity
            float uu = valid ? IN_F32(st.u[k]) : 0.0f;
            *reinterpret_cast<float2*>(&s_du[buf][ud_c][2 * r]) = make_float2(dt, dt * uu);
        }
#pragma unroll
        for (int k = 0; k < BC_ITEMS; ++k) {
            int r = bc_r0 + k * (THREADS / LANES_PER_CHANNEL);
            bool valid = bc_n < N_STATE && s_pix[slot][r] >= 0;
            s_B[buf][bc_n][r] = valid ? BC_F32(st.b[k]) : 0.0f;
            s_C[buf][bc_n][r] = valid ? BC_F32(st.c[k]) : 0.0f;
        }
    };

    Staged st;
    pixels(0, 0);
    if (n_tiles > 1) pixels(1, 1);
    __syncthreads();
    load(0, st);
    store(0, 0, st);
    __syncthreads();

    float h = 0.0f;
    float* red = s_red[warp] + lane * RED_STRIDE + half * 16;  // this lane's 16 products
    const float* red_col = s_red[warp] + half * (16 * RED_STRIDE + 16) + n;  // step n of this lane's channel
    const int local = warp * 2 + half;  // the lane's channel within the block
    // Transposed reduction of a group's products (already in this warp's buffer): lane j of a channel sums
    // the 16 states' products of step r0 + j (a tree, four adds deep) and adds it into the output.
    auto emit = [&](int r0, int slot) {
        float v[16];
#pragma unroll
        for (int s = 0; s < 16; ++s) v[s] = red_col[s * RED_STRIDE];
#pragma unroll
        for (int w = 8; w >= 1; w >>= 1)
#pragma unroll
            for (int s = 0; s < w; ++s) v[s] += v[s + w];
        const int r = r0 + n;
        const int pix = s_pix[slot][r];
        if (live && pix >= 0) {
            atomicAdd(y_b + (long long)pix * s_yl + (long long)channel * s_ye, v[0]);
        }
    };

    for (int tile = 0; tile < n_tiles; ++tile) {
        const int buf = tile & 1, slot = tile % 3;
        const bool more = tile + 1 < n_tiles;
        if (more) load((tile + 1) % 3, st);  // in flight while this tile computes

        const float* Bt = s_B[buf][n];
        const float* Ct = s_C[buf][n];
        const float* du = s_du[buf][local];
        // Group g's 16 steps are walked while group g - 1's products are summed (their shared-memory
        // round trip and adds overlap the walk's exponentials); the tile's last group is summed after.
        float p_prev[16];
#pragma unroll
        for (int g = 0; g < T / 16; ++g) {
            const int r0 = 16 * g;
            if (g > 0) {
#pragma unroll
                for (int k = 0; k < 16; k += 4)
                    *reinterpret_cast<float4*>(red + k) =
                        make_float4(p_prev[k], p_prev[k + 1], p_prev[k + 2], p_prev[k + 3]);
            }
            __syncwarp();
            float p[16];
#pragma unroll
            for (int k = 0; k < 16; k += 4) {
                float4 bv = *reinterpret_cast<const float4*>(Bt + r0 + k);
                float4 cv = *reinterpret_cast<const float4*>(Ct + r0 + k);
                float4 d01 = *reinterpret_cast<const float4*>(du + 2 * (r0 + k));
                float4 d23 = *reinterpret_cast<const float4*>(du + 2 * (r0 + k) + 4);
                h = fmaf(ex2(d01.x * a2), h, d01.y * bv.x);
                p[k] = cv.x * h;
                h = fmaf(ex2(d01.z * a2), h, d01.w * bv.y);
                p[k + 1] = cv.y * h;
                h = fmaf(ex2(d23.x * a2), h, d23.y * bv.z);
                p[k + 2] = cv.z * h;
                h = fmaf(ex2(d23.z * a2), h, d23.w * bv.w);
                p[k + 3] = cv.w * h;
            }
            if (g > 0) emit(r0 - 16, slot);
            __syncwarp();
#pragma unroll
            for (int k = 0; k < 16; ++k) p_prev[k] = p[k];
        }
#pragma unroll
        for (int k = 0; k < 16; k += 4)
            *reinterpret_cast<float4*>(red + k) = make_float4(p_prev[k], p_prev[k + 1], p_prev[k + 2], p_prev[k + 3]);
        __syncwarp();
        emit(T - 16, slot);

        if (more) {
            if (tile + 2 < n_tiles) pixels(tile + 2, (tile + 2) % 3);
            store((tile + 1) % 3, buf ^ 1, st);
        }
        __syncthreads();
    }
}
