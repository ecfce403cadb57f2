/* The capture chain as a plain C program: the same speexdsp calls on the same frames
 * as CaptureProcessor (Benchmarks/CaptureChain), to compare CPU time. Input generation
 * matches BenchInput.swift. Prints JSON: CPU time per second of audio. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <speex/speex_resampler.h>

#define SECONDS 10
#define FRAME 240

static uint32_t state = 12345;
static int32_t noise(void) {
    state = state * 1103515245u + 12345u;
    return (int32_t)((state >> 16) & 0x7fff) - 16384;
}
static int16_t clamp16(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 100; /* seconds of audio processed */
    static int16_t mic[48000 * SECONDS], ref[24000 * SECONDS];
    for (int i = 0; i < 24000 * SECONDS; i++)
        ref[i] = clamp16((int32_t)(3000 * sin(2 * M_PI * 310 * (double)i / 24000)) + noise() / 8);
    for (int i = 0; i < 48000 * SECONDS; i++) {
        int j = i / 2 - 960;
        int32_t echo = (int32_t)ref[j < 0 ? 0 : j] / 4;
        mic[i] = clamp16(echo + noise() / 16);
    }

    int err = 0;
    SpeexResamplerState *rs = speex_resampler_init(1, 48000, 24000, 5, &err);
    speex_resampler_skip_zeros(rs);
    SpeexEchoState *echo = speex_echo_state_init(FRAME, 24000 * 200 / 1000);
    int rate = 24000;
    speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    SpeexPreprocessState *pre = speex_preprocess_state_init(FRAME, 24000);
    int on = 1, suppress = -15;
    float level = 8000;
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress);
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC, &on);
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
    speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);

    int16_t mono[480], staging[480 + 2 * FRAME], cleaned[FRAME];
    int staged = 0;
    volatile int voiced = 0;
    double floor_db = -60;
    double start = 0;
    for (int second = -1; second < runs; second++) { /* second -1: warm-up, not timed */
        if (second == 0) start = cpu_seconds();
        for (int period = 0; period < 100; period++) {
            int p = ((second < 0 ? 0 : second * 100) + period) % (100 * SECONDS); /* as BenchInput.run */
            for (int i = 0; i < 480; i++) mono[i] = clamp16(((int32_t)mic[p * 480 + i] * 4096) >> 12);
            spx_uint32_t in_len = 480, out_len = 480 + 2 * FRAME - staged;
            speex_resampler_process_int(rs, 0, mono, &in_len, staging + staged, &out_len);
            staged += out_len;
            int offset = 0;
            while (staged - offset >= FRAME) {
                speex_echo_cancellation(echo, staging + offset, ref + p * 240, cleaned);
                memcpy(staging + offset, cleaned, sizeof cleaned);
                speex_preprocess_run(pre, staging + offset);
                float sum = 0; /* the energy VAD CaptureChain runs */
                for (int i = 0; i < FRAME; i++) sum += (float)staging[offset + i] * staging[offset + i];
                float db = 10 * log10f(sum / FRAME / (32768.0f * 32768.0f) + 1e-12f);
                floor_db = db < floor_db ? db : floor_db + 0.03;
                voiced = db > floor_db + 9 && db > -55;
                offset += FRAME;
            }
            staged -= offset;
            if (staged > 0 && offset > 0) memmove(staging, staging + offset, staged * sizeof(int16_t));
        }
    }
    double cpu = cpu_seconds() - start;
    printf("{\"seconds_of_audio\": %d, \"cpu_seconds\": %.6f, \"cpu_percent_of_core\": %.4f}\n",
           runs, cpu, 100.0 * cpu / runs);
    return 0;
}
