#define _GNU_SOURCE
#include <pthread.h>
#include <poll.h>
#include <malloc.h>
#include <sys/eventfd.h>
#include "CParleyShims.h"
#include <alsa/asoundlib.h>

CURLcode CParley_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
CURLcode CParley_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
CURLcode CParley_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
CURLcode CParley_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
CURLcode CParley_curl_setopt_write_function(CURL *h, curl_write_callback cb) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
CURLcode CParley_curl_setopt_header_function(CURL *h, curl_write_callback cb) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
CURLcode CParley_curl_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback cb) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }
CURLcode CParley_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }

int CParley_opus_set_bitrate(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(v)); }
int CParley_opus_get_bitrate(OpusEncoder *e, opus_int32 *v) { return opus_encoder_ctl(e, OPUS_GET_BITRATE(v)); }
int CParley_opus_set_complexity(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(v)); }
int CParley_opus_set_signal_voice(OpusEncoder *e) { return opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)); }
int CParley_opus_set_dtx(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_DTX(v)); }
int CParley_opus_set_inband_fec(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(v)); }
int CParley_opus_reset_decoder(OpusDecoder *d) { return opus_decoder_ctl(d, OPUS_RESET_STATE); }

int CParley_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

__attribute__((noinline)) void CParley_touch_stack(unsigned long bytes) {
    volatile char below[bytes];
    for (unsigned long i = 0; i < bytes; i += 1024) below[i] = 0;
}

void CParley_malloc_trim(void) { malloc_trim(0); }

int CParley_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }

int CParley_ppoll(struct pollfd *fds, unsigned long count, long long ns) {
    struct timespec t = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
    return ppoll(fds, (nfds_t)count, ns < 0 ? NULL : &t, NULL);
}

static void CParley_alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}
void CParley_alsa_silence_library_errors(void) { snd_lib_error_set_handler(CParley_alsa_quiet); }
