// Typed wrappers for the C calls Swift cannot make itself: variadic functions
// (curl_easy_setopt/getinfo, opus_*_ctl) and function-like macros. One job each,
// prefixed with the library they wrap (the CNIOLinux_ habit).
#ifndef CPARLEYSHIMS_H
#define CPARLEYSHIMS_H

#include <curl/curl.h>
#include <opus.h>

// libcurl
CURLcode CParley_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode CParley_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode CParley_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode CParley_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode CParley_curl_setopt_write_function(CURL *handle, curl_write_callback callback);
CURLcode CParley_curl_setopt_header_function(CURL *handle, curl_write_callback callback);
CURLcode CParley_curl_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback callback);
CURLcode CParley_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

// libopus
int CParley_opus_set_bitrate(OpusEncoder *encoder, opus_int32 bitsPerSecond);
int CParley_opus_get_bitrate(OpusEncoder *encoder, opus_int32 *bitsPerSecond);
int CParley_opus_set_complexity(OpusEncoder *encoder, opus_int32 complexity);
int CParley_opus_set_signal_voice(OpusEncoder *encoder);
int CParley_opus_set_dtx(OpusEncoder *encoder, opus_int32 enabled);
int CParley_opus_set_inband_fec(OpusEncoder *encoder, opus_int32 enabled);
int CParley_opus_reset_decoder(OpusDecoder *decoder);

// alsa-lib
/// Stops alsa-lib printing its own errors to stderr (they would break journald lines and
/// flood the log when a device disappears); parleyd reports errors itself.
void CParley_alsa_silence_library_errors(void);

// pthread
/// Names the calling thread (visible in top -H and /proc); pthread_setname_np needs _GNU_SOURCE.
int CParley_set_thread_name(const char *name);
/// Writes to the first `bytes` of the calling thread's stack, so those pages are resident
/// (and locked, under mlockall's MCL_ONFAULT) before the thread's real-time work begins.
void CParley_touch_stack(unsigned long bytes);

// malloc_trim (<malloc.h>, not in Swift's Glibc module)
/// Gives the free pages of every malloc arena back to the kernel (after a burst of work on a
/// thread of its own, whose arena would keep them).
void CParley_malloc_trim(void);

// eventfd (not in Swift's Glibc module)
/// A close-on-exec eventfd counting from 0: the audio threads' doorbell.
int CParley_eventfd(void);

// ppoll (needs _GNU_SOURCE)
struct pollfd;
/// poll(2) with a nanosecond timeout (negative: none); EINTR comes back as -1/errno.
int CParley_ppoll(struct pollfd *fds, unsigned long count, long long timeoutNanoseconds);

#endif
