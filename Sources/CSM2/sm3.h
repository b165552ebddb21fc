#ifndef ELICENCE_CSM2_SM3_H
#define ELICENCE_CSM2_SM3_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length;      // bytes absorbed so far
    uint8_t block[64];
    size_t used;          // bytes waiting in block
} sm3_context;

void sm3_init(sm3_context *context);
void sm3_update(sm3_context *context, const uint8_t *data, size_t length);
void sm3_final(sm3_context *context, uint8_t digest[32]);
#endif
