// OpenSSL's libcrypto: Ed25519 signature checks for remote provisioning.
#include <openssl/evp.h>
