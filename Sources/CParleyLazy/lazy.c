// The definitions behind CParleyLazy.h. Each wrapper is hidden (never exported, so it cannot
// stand in for the library's own symbol inside the library), resolves its function once and
// keeps it; a library that cannot be opened makes each call fail the way the library itself
// reports failure (NULL, an error code), and CParley_lazy_failure says why, per library.
#define CURL_DISABLE_TYPECHECK
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <curl/curl.h>
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <openssl/evp.h>
#include "CParleyLazy.h"

#define HIDDEN __attribute__((visibility("hidden")))

struct library { const char *soname; void *handle; const char *failed; char failure[256]; };
static struct library curl = { "libcurl.so.4" }, espeak = { "libespeak-ng.so.1" }, crypto = { "libcrypto.so.3" };

const char *CParley_lazy_failure(CParleyLazyLibrary library) {
    struct library *lib = library == CParleyLazyCurl ? &curl : library == CParleyLazyEspeak ? &espeak : &crypto;
    return __atomic_load_n(&lib->failed, __ATOMIC_ACQUIRE);
}

// Two threads racing here both dlopen; the second only raises the library's reference count.
static void *symbol(struct library *lib, const char *name) {
    void *handle = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
    if (!handle) {
        handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            if (!__atomic_load_n(&lib->failed, __ATOMIC_ACQUIRE)) {
                snprintf(lib->failure, sizeof lib->failure, "%s", dlerror());
                __atomic_store_n(&lib->failed, lib->failure, __ATOMIC_RELEASE);
            }
            return NULL;
        }
        __atomic_store_n(&lib->handle, handle, __ATOMIC_RELEASE);
    }
    return dlsym(handle, name);
}

// The library's own function, typed by its header's declaration; NULL when it cannot be had.
#define REAL(lib, name) ({ \
    static __typeof__(name) *cached; \
    __typeof__(name) *fn = __atomic_load_n(&cached, __ATOMIC_ACQUIRE); \
    if (!fn) { fn = (__typeof__(name) *)symbol(&lib, #name); __atomic_store_n(&cached, fn, __ATOMIC_RELEASE); } \
    fn; })

// A wrapper that forwards its arguments, or returns `fail` when the function cannot be had.
#define FORWARD(lib, ret, name, params, args, fail) \
    HIDDEN ret name params { __typeof__(name) *fn = REAL(lib, name); return fn ? fn args : (fail); }
#define FORWARD_VOID(lib, name, params, args) \
    HIDDEN void name params { __typeof__(name) *fn = REAL(lib, name); if (fn) fn args; }

// libcurl (HTTP requests: tool calls, relay routes, transcripts, provisioning)
FORWARD(curl, char *, curl_version, (void), (), (char *)"libcurl is not available")
FORWARD(curl, CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)
FORWARD(curl, CURL *, curl_easy_init, (void), (), NULL)
FORWARD(curl, CURLcode, curl_easy_perform, (CURL *h), (h), CURLE_FAILED_INIT)
FORWARD_VOID(curl, curl_easy_cleanup, (CURL *h), (h))
FORWARD(curl, const char *, curl_easy_strerror, (CURLcode code), (code), "libcurl is not available")
FORWARD(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *s), (list, s), NULL)
FORWARD_VOID(curl, curl_slist_free_all, (struct curl_slist *list), (list))

// The variadic two take one argument, whose type the option's range gives (curl.h: CURLOPTTYPE_*).
HIDDEN CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...) {
    __typeof__(curl_easy_setopt) *fn = REAL(curl, curl_easy_setopt);
    if (!fn) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode code;
    if (option < CURLOPTTYPE_OBJECTPOINT) code = fn(h, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB) code = fn(h, option, va_arg(ap, curl_off_t));
    else code = fn(h, option, va_arg(ap, void *));  // object, string, list, function, blob
    va_end(ap);
    return code;
}
HIDDEN CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...) {
    __typeof__(curl_easy_getinfo) *fn = REAL(curl, curl_easy_getinfo);
    if (!fn) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode code = fn(h, info, va_arg(ap, void *));  // always where to put the answer
    va_end(ap);
    return code;
}

// libespeak-ng (speech for the text backends and the echo backend's say)
FORWARD_VOID(espeak, espeak_ng_InitializePath, (const char *path), (path))
FORWARD(espeak, espeak_ng_STATUS, espeak_ng_Initialize, (espeak_ng_ERROR_CONTEXT *context), (context), ENS_NOT_SUPPORTED)
FORWARD(espeak, espeak_ng_STATUS, espeak_ng_InitializeOutput,
        (espeak_ng_OUTPUT_MODE mode, int bufferLength, const char *device), (mode, bufferLength, device), ENS_NOT_SUPPORTED)
FORWARD(espeak, int, espeak_ng_GetSampleRate, (void), (), 0)
FORWARD(espeak, espeak_ng_STATUS, espeak_ng_SetParameter,
        (espeak_PARAMETER parameter, int value, int relative), (parameter, value, relative), ENS_NOT_SUPPORTED)
FORWARD(espeak, espeak_ng_STATUS, espeak_ng_SetVoiceByName, (const char *name), (name), ENS_NOT_SUPPORTED)
FORWARD_VOID(espeak, espeak_SetSynthCallback, (t_espeak_callback *callback), (callback))
FORWARD(espeak, espeak_ng_STATUS, espeak_ng_Synthesize,
        (const void *text, size_t size, unsigned int position, espeak_POSITION_TYPE type, unsigned int end,
         unsigned int flags, unsigned int *identifier, void *userData),
        (text, size, position, type, end, flags, identifier, userData), ENS_NOT_SUPPORTED)

// libcrypto (Ed25519 checks of what remote provisioning pulls)
FORWARD(crypto, EVP_PKEY *, EVP_PKEY_new_raw_public_key,
        (int type, ENGINE *engine, const unsigned char *key, size_t length), (type, engine, key, length), NULL)
FORWARD_VOID(crypto, EVP_PKEY_free, (EVP_PKEY *key), (key))
FORWARD(crypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), (), NULL)
FORWARD_VOID(crypto, EVP_MD_CTX_free, (EVP_MD_CTX *context), (context))
FORWARD(crypto, int, EVP_DigestVerifyInit,
        (EVP_MD_CTX *context, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *engine, EVP_PKEY *key),
        (context, pctx, type, engine, key), 0)
FORWARD(crypto, int, EVP_DigestVerify,
        (EVP_MD_CTX *context, const unsigned char *signature, size_t signatureLength, const unsigned char *data,
         size_t dataLength), (context, signature, signatureLength, data, dataLength), -1)
