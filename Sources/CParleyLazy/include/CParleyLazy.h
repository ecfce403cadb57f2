// libcurl, libespeak-ng and libcrypto are opened at their first call (dlopen), not at start:
// a device that makes no HTTP request, speaks nothing and checks no signature maps none of
// them, nor what they pull in (GnuTLS, Kerberos, LDAP, PulseAudio, X11: ~9 MB resident).
// lazy.c defines each function parleyd calls under its own name (the headers stay the
// contract); the first call opens the library and looks the function up.
#ifndef CPARLEYLAZY_H
#define CPARLEYLAZY_H

typedef enum { CParleyLazyCurl, CParleyLazyEspeak, CParleyLazyCrypto } CParleyLazyLibrary;

/// Why `library` could not be opened (dlerror's text), or NULL while it has not failed.
const char *CParley_lazy_failure(CParleyLazyLibrary library);

#endif
