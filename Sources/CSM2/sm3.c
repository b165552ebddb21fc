// SM3 (GB/T 32905-2016), a straightforward implementation of the standard's description.
#include <string.h>
#include "sm3.h"
#include "CSM2.h"

#define ROL(x, n) (((x) << ((n) & 31)) | ((x) >> ((32 - ((n) & 31)) & 31)))
#define P0(x) ((x) ^ ROL((x), 9) ^ ROL((x), 17))
#define P1(x) ((x) ^ ROL((x), 15) ^ ROL((x), 23))

static inline uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

// T_j <<< j, for j = 0..63.
static const uint32_t round_constants[64] = {
#define T0(j) ROL(0x79cc4519u, j)
#define T1(j) ROL(0x7a879d8au, j)
    T0(0), T0(1), T0(2), T0(3), T0(4), T0(5), T0(6), T0(7),
    T0(8), T0(9), T0(10), T0(11), T0(12), T0(13), T0(14), T0(15),
    T1(16), T1(17), T1(18), T1(19), T1(20), T1(21), T1(22), T1(23),
    T1(24), T1(25), T1(26), T1(27), T1(28), T1(29), T1(30), T1(31),
    T1(32), T1(33), T1(34), T1(35), T1(36), T1(37), T1(38), T1(39),
    T1(40), T1(41), T1(42), T1(43), T1(44), T1(45), T1(46), T1(47),
    T1(48), T1(49), T1(50), T1(51), T1(52), T1(53), T1(54), T1(55),
    T1(56), T1(57), T1(58), T1(59), T1(60), T1(61), T1(62), T1(63),
#undef T0
#undef T1
};

static void compress(uint32_t state[8], const uint8_t *block) {
    uint32_t w[68];
    for (int j = 0; j < 16; j++) w[j] = load_be32(block + 4 * j);
    for (int j = 16; j < 68; j++) {
        uint32_t x = w[j - 16] ^ w[j - 9] ^ ROL(w[j - 3], 15);
        w[j] = P1(x) ^ ROL(w[j - 13], 7) ^ w[j - 6];
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int j = 0; j < 64; j++) {
        uint32_t a12 = ROL(a, 12);
        uint32_t ss1 = ROL(a12 + e + round_constants[j], 7);
        uint32_t ss2 = ss1 ^ a12;
        uint32_t ff, gg;
        if (j < 16) {
            ff = a ^ b ^ c;
            gg = e ^ f ^ g;
        } else {
            ff = (a & b) | (a & c) | (b & c);
            gg = (e & f) | (~e & g);
        }
        uint32_t tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]);
        uint32_t tt2 = gg + h + ss1 + w[j];
        d = c;
        c = ROL(b, 9);
        b = a;
        a = tt1;
        h = g;
        g = ROL(f, 19);
        f = e;
        e = P0(tt2);
    }
    state[0] ^= a; state[1] ^= b; state[2] ^= c; state[3] ^= d;
    state[4] ^= e; state[5] ^= f; state[6] ^= g; state[7] ^= h;
}

void sm3_init(sm3_context *context) {
    static const uint32_t iv[8] = {
        0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
    };
    memcpy(context->state, iv, sizeof iv);
    context->length = 0;
    context->used = 0;
}

void sm3_update(sm3_context *context, const uint8_t *data, size_t length) {
    context->length += length;
    if (context->used > 0) {
        size_t take = 64 - context->used;
        if (take > length) take = length;
        memcpy(context->block + context->used, data, take);
        context->used += take;
        data += take;
        length -= take;
        if (context->used < 64) return;
        compress(context->state, context->block);
        context->used = 0;
    }
    while (length >= 64) {
        compress(context->state, data);
        data += 64;
        length -= 64;
    }
    if (length > 0) {
        memcpy(context->block, data, length);
        context->used = length;
    }
}

void sm3_final(sm3_context *context, uint8_t digest[32]) {
    uint64_t bits = context->length * 8;
    context->block[context->used++] = 0x80;
    if (context->used > 56) {
        memset(context->block + context->used, 0, 64 - context->used);
        compress(context->state, context->block);
        context->used = 0;
    }
    memset(context->block + context->used, 0, 56 - context->used);
    store_be32(context->block + 56, (uint32_t)(bits >> 32));
    store_be32(context->block + 60, (uint32_t)bits);
    compress(context->state, context->block);
    for (int i = 0; i < 8; i++) store_be32(digest + 4 * i, context->state[i]);
}

void elicence_sm3(const uint8_t *data, size_t length, uint8_t digest[32]) {
    sm3_context context;
    sm3_init(&context);
    sm3_update(&context, data, length);
    sm3_final(&context, digest);
}
