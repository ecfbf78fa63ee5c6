#include <sodium.h>

/* Selects libsodium's internal ChaCha20 generator; a function so Swift need not touch the
   mutable global implementation struct. Must run before sodium_init(). */
static inline int patronvault_use_internal_random(void) {
    return randombytes_set_implementation(&randombytes_internal_implementation);
}
