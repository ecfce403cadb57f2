// libFuzzer's driver, linked in by -sanitize=fuzzer (LLVM 13+). SwiftPM gives an executable
// its own `main`, so the fuzzer is started from it instead of from libFuzzer's main.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
