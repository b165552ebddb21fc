// SM2 signature verification on sm2p256v1 (GB/T 32918.2-2016, section 7).
//
// Verification computes (x1, y1) = [s]G + [t]P with t = (r + s) mod n and accepts when
// (e + x1) mod n = r. Both points are fixed: G for ever, P for as long as a trusted key is
// loaded. So both products come from tables of precomputed multiples, with no doubling at all:
// the scalar is cut into signed digits of w bits, and digit i selects |d|·2^(w·i)·Q from the
// table (negated when d < 0). One verification is then about 37 + 43 mixed additions.
//
//   generator: w = 7, 37 rows of 64 affine points (148 KiB, shared, built when the first key is
//              loaded; a build that fails for want of memory is tried again on the next load)
//   each key:  w = 6, 43 rows of 32 affine points (86 KiB, built when the key is loaded)
//
// Field elements are 4 × 64-bit limbs in Montgomery form (R = 2^256), always fully reduced, so
// equality is equality of limbs. Points are Jacobian (X/Z², Y/Z³), Z = 0 being infinity; every
// addition handles the doubling and the infinity cases, so crafted inputs cannot produce a wrong
// answer. x1 is compared without an inversion: x1 ≡ r − e (mod n) and 0 ≤ x1 < p < 2n leave two
// candidates c, each checked as X = c·Z².
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "CSM2.h"
#include "sm3.h"

__extension__ typedef unsigned __int128 u128;   // GCC and clang; __extension__ keeps -Wpedantic quiet
typedef struct { uint64_t l[4]; } fe;          // field element mod p, or scalar mod n
typedef struct { fe x, y; } affine;             // 64 bytes: one cache line in an aligned table
typedef struct { fe x, y, z; } jacobian;

// p = 2^256 − 2^224 − 2^96 + 2^64 − 1, so −p⁻¹ mod 2^64 = 1.
static const fe P = {{0xffffffffffffffff, 0xffffffff00000000, 0xffffffffffffffff, 0xfffffffeffffffff}};
static const fe N = {{0x53bbf40939d54123, 0x7203df6b21c6052b, 0xffffffffffffffff, 0xfffffffeffffffff}};
// p − n: c + n is a second candidate for x1 only when c < p − n.
static const fe P_MINUS_N = {{0xac440bf6c62abedc, 0x8dfc2093de39fad5, 0, 0}};
static const fe R2 = {{0x0000000200000003, 0x00000002ffffffff, 0x0000000100000001, 0x0000000400000002}};
static const fe ONE = {{0x0000000000000001, 0x00000000ffffffff, 0x0000000000000000, 0x0000000100000000}};
static const fe B_MONT = {{0x90d230632bc0dd42, 0x71cf379ae9b537ab, 0x527981505ea51c3c, 0x240fe188ba20e2c8}};
static const fe GX_MONT = {{0x61328990f418029e, 0x3e7981eddca6c050, 0xd6a1ed99ac24c3c3, 0x91167a5ee1c13b05}};
static const fe GY_MONT = {{0xc1354e593c2d0ddd, 0xc1f5e5788d3295fa, 0x8d4cfb066e2a48f8, 0x63cd65d481d735bd}};

// The curve in the byte form that Z hashes: a, b, xG, yG.
static const uint8_t CURVE_BYTES[128] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc,
    0x28, 0xe9, 0xfa, 0x9e, 0x9d, 0x9f, 0x5e, 0x34, 0x4d, 0x5a, 0x9e, 0x4b, 0xcf, 0x65, 0x09, 0xa7,
    0xf3, 0x97, 0x89, 0xf5, 0x15, 0xab, 0x8f, 0x92, 0xdd, 0xbc, 0xbd, 0x41, 0x4d, 0x94, 0x0e, 0x93,
    0x32, 0xc4, 0xae, 0x2c, 0x1f, 0x19, 0x81, 0x19, 0x5f, 0x99, 0x04, 0x46, 0x6a, 0x39, 0xc9, 0x94,
    0x8f, 0xe3, 0x0b, 0xbf, 0xf2, 0x66, 0x0b, 0xe1, 0x71, 0x5a, 0x45, 0x89, 0x33, 0x4c, 0x74, 0xc7,
    0xbc, 0x37, 0x36, 0xa2, 0xf4, 0xf6, 0x77, 0x9c, 0x59, 0xbd, 0xce, 0xe3, 0x6b, 0x69, 0x21, 0x53,
    0xd0, 0xa9, 0x87, 0x7c, 0xc6, 0x2a, 0x47, 0x40, 0x02, 0xdf, 0x32, 0xe5, 0x21, 0x39, 0xf0, 0xa0,
};

// ---------------------------------------------------------------------------------------------
// 256-bit integers

static inline int is_zero(const fe *a) { return (a->l[0] | a->l[1] | a->l[2] | a->l[3]) == 0; }

static inline int equal(const fe *a, const fe *b) {
    return ((a->l[0] ^ b->l[0]) | (a->l[1] ^ b->l[1]) | (a->l[2] ^ b->l[2]) | (a->l[3] ^ b->l[3])) == 0;
}

static inline int less_than(const fe *a, const fe *b) {
    for (int i = 3; i >= 0; i--) {
        if (a->l[i] != b->l[i]) return a->l[i] < b->l[i];
    }
    return 0;
}

// Add and subtract with carry. Clang (and GCC from 14) have builtins that become adc/sbb chains;
// elsewhere (GCC 12, Debian's) the same through 128-bit arithmetic, which GCC compiles well too.
#if defined(__has_builtin)
#if __has_builtin(__builtin_addcll) && __has_builtin(__builtin_subcll)
#define HAVE_ADDC_BUILTINS 1
#endif
#endif

static inline uint64_t add_carry(uint64_t a, uint64_t b, uint64_t carry_in, uint64_t *carry_out) {
#ifdef HAVE_ADDC_BUILTINS
    unsigned long long carry;
    uint64_t sum = __builtin_addcll(a, b, carry_in, &carry);
    *carry_out = carry;
    return sum;
#else
    u128 sum = (u128)a + b + carry_in;
    *carry_out = (uint64_t)(sum >> 64);
    return (uint64_t)sum;
#endif
}

static inline uint64_t sub_borrow(uint64_t a, uint64_t b, uint64_t borrow_in, uint64_t *borrow_out) {
#ifdef HAVE_ADDC_BUILTINS
    unsigned long long borrow;
    uint64_t difference = __builtin_subcll(a, b, borrow_in, &borrow);
    *borrow_out = borrow;
    return difference;
#else
    u128 difference = (u128)a - b - borrow_in;
    *borrow_out = (uint64_t)(difference >> 64) & 1;   // all ones after a wrap
    return (uint64_t)difference;
#endif
}

// r = a + b, returning the carry out.
static inline uint64_t add_raw(fe *r, const fe *a, const fe *b) {
    uint64_t c0, c1, c2, c3;
    r->l[0] = add_carry(a->l[0], b->l[0], 0, &c0);
    r->l[1] = add_carry(a->l[1], b->l[1], c0, &c1);
    r->l[2] = add_carry(a->l[2], b->l[2], c1, &c2);
    r->l[3] = add_carry(a->l[3], b->l[3], c2, &c3);
    return c3;
}

// r = a − b, returning the borrow out.
static inline uint64_t sub_raw(fe *r, const fe *a, const fe *b) {
    uint64_t c0, c1, c2, c3;
    r->l[0] = sub_borrow(a->l[0], b->l[0], 0, &c0);
    r->l[1] = sub_borrow(a->l[1], b->l[1], c0, &c1);
    r->l[2] = sub_borrow(a->l[2], b->l[2], c1, &c2);
    r->l[3] = sub_borrow(a->l[3], b->l[3], c2, &c3);
    return c3;
}

static void from_bytes(fe *r, const uint8_t b[32]) {
    for (int i = 0; i < 4; i++) {
        const uint8_t *q = b + 8 * (3 - i);
        r->l[i] = (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 | (uint64_t)q[2] << 40 | (uint64_t)q[3] << 32 |
                  (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 | (uint64_t)q[6] << 8 | (uint64_t)q[7];
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic mod m for a modulus m of 256 bits; inputs are reduced.

static inline void mod_add(fe *r, const fe *a, const fe *b, const fe *m) {
    fe t, u;
    uint64_t carry = add_raw(&t, a, b);
    uint64_t borrow = sub_raw(&u, &t, m);
    *r = (carry || !borrow) ? u : t;
}

static inline void mod_sub(fe *r, const fe *a, const fe *b, const fe *m) {
    fe t, u;
    uint64_t borrow = sub_raw(&t, a, b);
    add_raw(&u, &t, m);
    *r = borrow ? u : t;
}

// ---------------------------------------------------------------------------------------------
// The field, in Montgomery form.

static inline void fe_add(fe *r, const fe *a, const fe *b) { mod_add(r, a, b, &P); }
static inline void fe_sub(fe *r, const fe *a, const fe *b) { mod_sub(r, a, b, &P); }

static inline void fe_neg(fe *r, const fe *a) {
    if (is_zero(a)) { *r = *a; return; }
    sub_raw(r, &P, a);
}

// Montgomery reduction of the 512-bit t[0..7]: t·2^−256 mod p, fully reduced.
static inline void fe_reduce(fe *r, uint64_t t[8]) {
    uint64_t top = 0;  // carry above t[i + 4] from the previous round
    for (int i = 0; i < 4; i++) {
        // m = t[i] because −p⁻¹ ≡ 1 (mod 2^64); m·p[0] + t[i] = m·2^64 exactly.
        uint64_t m = t[i];
        u128 c = m;
        c += (u128)m * P.l[1] + t[i + 1]; t[i + 1] = (uint64_t)c; c >>= 64;
        c += (u128)m * P.l[2] + t[i + 2]; t[i + 2] = (uint64_t)c; c >>= 64;
        c += (u128)m * P.l[3] + t[i + 3]; t[i + 3] = (uint64_t)c; c >>= 64;
        c += (u128)t[i + 4] + top;        t[i + 4] = (uint64_t)c; top = (uint64_t)(c >> 64);
    }
    fe v = {{t[4], t[5], t[6], t[7]}}, u;
    uint64_t borrow = sub_raw(&u, &v, &P);
    *r = (top || !borrow) ? u : v;
}

static inline void fe_mul(fe *r, const fe *a, const fe *b) {
    uint64_t t[8];
    u128 c;
    uint64_t carry;
    // Schoolbook product, row by row.
    c = (u128)a->l[0] * b->l[0]; t[0] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[0] * b->l[1]; t[1] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[0] * b->l[2]; t[2] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[0] * b->l[3]; t[3] = (uint64_t)c; t[4] = (uint64_t)(c >> 64);
    for (int i = 1; i < 4; i++) {
        c = (u128)a->l[i] * b->l[0] + t[i];     t[i] = (uint64_t)c; c >>= 64;
        c += (u128)a->l[i] * b->l[1] + t[i + 1]; t[i + 1] = (uint64_t)c; c >>= 64;
        c += (u128)a->l[i] * b->l[2] + t[i + 2]; t[i + 2] = (uint64_t)c; c >>= 64;
        c += (u128)a->l[i] * b->l[3] + t[i + 3]; t[i + 3] = (uint64_t)c; carry = (uint64_t)(c >> 64);
        t[i + 4] = carry;
    }
    fe_reduce(r, t);
}

static inline void fe_sqr(fe *r, const fe *a) {
    uint64_t t[8];
    u128 c;
    // Off-diagonal products a[i]·a[j], i < j, then doubled, then the squares added.
    c = (u128)a->l[0] * a->l[1]; t[1] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[0] * a->l[2]; t[2] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[0] * a->l[3]; t[3] = (uint64_t)c; t[4] = (uint64_t)(c >> 64);
    c = (u128)a->l[1] * a->l[2] + t[3]; t[3] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[1] * a->l[3] + t[4]; t[4] = (uint64_t)c; t[5] = (uint64_t)(c >> 64);
    c = (u128)a->l[2] * a->l[3] + t[5]; t[5] = (uint64_t)c; t[6] = (uint64_t)(c >> 64);
    t[7] = t[6] >> 63;
    t[6] = t[6] << 1 | t[5] >> 63;
    t[5] = t[5] << 1 | t[4] >> 63;
    t[4] = t[4] << 1 | t[3] >> 63;
    t[3] = t[3] << 1 | t[2] >> 63;
    t[2] = t[2] << 1 | t[1] >> 63;
    t[1] = t[1] << 1;
    c = (u128)a->l[0] * a->l[0]; t[0] = (uint64_t)c; c >>= 64;
    c += t[1]; t[1] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[1] * a->l[1] + t[2]; t[2] = (uint64_t)c; c >>= 64;
    c += t[3]; t[3] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[2] * a->l[2] + t[4]; t[4] = (uint64_t)c; c >>= 64;
    c += t[5]; t[5] = (uint64_t)c; c >>= 64;
    c += (u128)a->l[3] * a->l[3] + t[6]; t[6] = (uint64_t)c; c >>= 64;
    t[7] += (uint64_t)c;
    fe_reduce(r, t);
}

static void fe_to_mont(fe *r, const fe *a) { fe_mul(r, a, &R2); }

static void fe_from_mont(fe *r, const fe *a) {
    static const fe one = {{1, 0, 0, 0}};
    fe_mul(r, a, &one);
}

static void to_bytes(uint8_t b[32], const fe *a) {
    for (int i = 0; i < 4; i++) {
        uint64_t v = a->l[3 - i];
        for (int j = 0; j < 8; j++) b[8 * i + j] = (uint8_t)(v >> (56 - 8 * j));
    }
}

static void fe_to_bytes(uint8_t b[32], const fe *a) {
    fe plain;
    fe_from_mont(&plain, a);
    to_bytes(b, &plain);
}

// a^e, e a plain 256-bit exponent; only for key loading and table building.
static void fe_pow(fe *r, const fe *a, const fe *e) {
    fe acc = ONE;
    for (int i = 255; i >= 0; i--) {
        fe_sqr(&acc, &acc);
        if ((e->l[i / 64] >> (i % 64)) & 1) fe_mul(&acc, &acc, a);
    }
    *r = acc;
}

static void fe_inv(fe *r, const fe *a) {
    static const fe p_minus_2 = {{0xfffffffffffffffd, 0xffffffff00000000, 0xffffffffffffffff, 0xfffffffeffffffff}};
    fe_pow(r, a, &p_minus_2);
}

// ---------------------------------------------------------------------------------------------
// Points. Z = 0 is the point at infinity.

static inline int is_infinity(const jacobian *a) { return is_zero(&a->z); }

// r = 2a, for a = −3 (dbl-2001-b); r may be a.
static void point_double(jacobian *r, const jacobian *a) {
    if (is_infinity(a)) { *r = *a; return; }
    // y = 0 would mean order 2, which no point of this prime-order curve has.
    fe delta, gamma, beta, alpha, t1, t2;
    fe_sqr(&delta, &a->z);
    fe_sqr(&gamma, &a->y);
    fe_mul(&beta, &a->x, &gamma);
    fe_sub(&t1, &a->x, &delta);
    fe_add(&t2, &a->x, &delta);
    fe_mul(&alpha, &t1, &t2);
    fe_add(&t1, &alpha, &alpha);
    fe_add(&alpha, &alpha, &t1);                 // α = 3(X − δ)(X + δ)
    fe_mul(&t1, &a->y, &a->z);
    fe_add(&r->z, &t1, &t1);                     // Z3 = 2YZ
    fe_add(&beta, &beta, &beta);
    fe_add(&beta, &beta, &beta);                 // 4β
    fe_sqr(&t1, &alpha);
    fe_add(&t2, &beta, &beta);
    fe_sub(&r->x, &t1, &t2);                     // X3 = α² − 8β
    fe_sub(&t1, &beta, &r->x);
    fe_mul(&t1, &alpha, &t1);
    fe_sqr(&gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);              // 8γ²
    fe_sub(&r->y, &t1, &gamma);                  // Y3 = α(4β − X3) − 8γ²
}

// r += (x2, y2), an affine point (madd-2007-bl with Z3 = 2·Z1·H).
static void point_add_affine(jacobian *r, const fe *x2, const fe *y2) {
    if (is_infinity(r)) {
        r->x = *x2;
        r->y = *y2;
        r->z = ONE;
        return;
    }
    fe z1z1, u2, s2, h, rr, hh, i, j, v, t;
    fe_sqr(&z1z1, &r->z);
    fe_mul(&u2, x2, &z1z1);
    fe_mul(&s2, y2, &r->z);
    fe_mul(&s2, &s2, &z1z1);
    fe_sub(&h, &u2, &r->x);
    fe_sub(&rr, &s2, &r->y);
    if (is_zero(&h)) {
        if (is_zero(&rr)) {
            point_double(r, r);                  // the same point
        } else {
            r->z = (fe){{0, 0, 0, 0}};           // its negation
        }
        return;
    }
    fe_add(&rr, &rr, &rr);
    fe_sqr(&hh, &h);
    fe_add(&i, &hh, &hh);
    fe_add(&i, &i, &i);                          // I = 4H²
    fe_mul(&j, &h, &i);                          // J = H·I
    fe_mul(&v, &r->x, &i);                       // V = X1·I
    fe_sqr(&t, &rr);
    fe_sub(&t, &t, &j);
    fe_sub(&t, &t, &v);
    fe_sub(&t, &t, &v);                          // X3 = r² − J − 2V
    fe_mul(&j, &r->y, &j);
    fe_add(&j, &j, &j);                          // 2·Y1·J
    fe_sub(&v, &v, &t);
    fe_mul(&v, &rr, &v);
    fe_sub(&r->y, &v, &j);                       // Y3 = r(V − X3) − 2·Y1·J
    r->x = t;
    fe_mul(&t, &r->z, &h);
    fe_add(&r->z, &t, &t);                       // Z3 = 2·Z1·H
}

// r = a + b, both Jacobian (add-2007-bl with Z3 = 2·Z1·Z2·H); r may be a or b.
static void point_add(jacobian *r, const jacobian *a, const jacobian *b) {
    if (is_infinity(a)) { *r = *b; return; }
    if (is_infinity(b)) { *r = *a; return; }
    fe z1z1, z2z2, u1, u2, s1, s2, h, rr, i, j, v, t;
    fe_sqr(&z1z1, &a->z);
    fe_sqr(&z2z2, &b->z);
    fe_mul(&u1, &a->x, &z2z2);
    fe_mul(&u2, &b->x, &z1z1);
    fe_mul(&s1, &a->y, &b->z);
    fe_mul(&s1, &s1, &z2z2);
    fe_mul(&s2, &b->y, &a->z);
    fe_mul(&s2, &s2, &z1z1);
    fe_sub(&h, &u2, &u1);
    fe_sub(&rr, &s2, &s1);
    if (is_zero(&h)) {
        if (is_zero(&rr)) {
            point_double(r, a);
        } else {
            r->z = (fe){{0, 0, 0, 0}};
        }
        return;
    }
    fe_add(&rr, &rr, &rr);
    fe_add(&i, &h, &h);
    fe_sqr(&i, &i);                              // I = (2H)²
    fe_mul(&j, &h, &i);
    fe_mul(&v, &u1, &i);
    fe_mul(&t, &a->z, &b->z);
    fe_mul(&t, &t, &h);
    fe_add(&r->z, &t, &t);                       // Z3 = 2·Z1·Z2·H
    fe_sqr(&t, &rr);
    fe_sub(&t, &t, &j);
    fe_sub(&t, &t, &v);
    fe_sub(&t, &t, &v);
    fe_mul(&s1, &s1, &j);
    fe_add(&s1, &s1, &s1);
    fe_sub(&v, &v, &t);
    fe_mul(&v, &rr, &v);
    fe_sub(&r->y, &v, &s1);
    r->x = t;
}

static int on_curve(const fe *x, const fe *y) {
    fe lhs, rhs, t;
    fe_sqr(&lhs, y);
    fe_sqr(&rhs, x);
    fe_mul(&rhs, &rhs, x);
    fe_add(&t, x, x);
    fe_add(&t, &t, x);
    fe_sub(&rhs, &rhs, &t);
    fe_add(&rhs, &rhs, &B_MONT);                 // x³ − 3x + b
    return equal(&lhs, &rhs);
}

// ---------------------------------------------------------------------------------------------
// Fixed-base tables: row i holds j·2^(w·i)·Q for j = 1 … 2^(w−1), affine.

#define G_WINDOW 7
#define G_ROWS 37                                // ⌈257 / 7⌉: signed digits of a 256-bit scalar
#define G_ENTRIES 64
#define KEY_WINDOW 6
#define KEY_ROWS 43                              // ⌈257 / 6⌉
#define KEY_ENTRIES 32

static int build_table(affine *table, const fe *x, const fe *y, int window, int rows) {
    const int entries = 1 << (window - 1);
    const size_t count = (size_t)rows * (size_t)entries;
    jacobian *points = malloc(count * sizeof *points);
    fe *products = malloc(count * sizeof *products);
    if (!points || !products) {
        free(points);
        free(products);
        return 0;
    }
    jacobian base = {*x, *y, ONE};
    for (int row = 0; row < rows; row++) {
        jacobian *p = points + (size_t)row * entries;
        p[0] = base;
        point_double(&p[1], &base);
        for (int j = 2; j < entries; j++) point_add(&p[j], &p[j - 1], &base);
        point_double(&base, &p[entries - 1]);    // 2^(w−1) · 2 = 2^w times the row's base
    }
    // To affine with a single inversion (Montgomery's trick); no Z is 0 here.
    products[0] = points[0].z;
    for (size_t k = 1; k < count; k++) fe_mul(&products[k], &products[k - 1], &points[k].z);
    fe inverse;
    fe_inv(&inverse, &products[count - 1]);
    for (size_t k = count; k-- > 0;) {
        fe zinv, zinv2, zinv3;
        if (k > 0) {
            fe_mul(&zinv, &inverse, &products[k - 1]);
            fe_mul(&inverse, &inverse, &points[k].z);
        } else {
            zinv = inverse;
        }
        fe_sqr(&zinv2, &zinv);
        fe_mul(&zinv3, &zinv2, &zinv);
        fe_mul(&table[k].x, &points[k].x, &zinv2);
        fe_mul(&table[k].y, &points[k].y, &zinv3);
    }
    free(points);
    free(products);
    return 1;
}

// Signed digits of k in base 2^w, each in [−2^(w−1) + 1, 2^(w−1)]: k = Σ d_i·2^(w·i).
static void recode(int8_t *digits, const fe *k, int window, int rows) {
    int carry = 0;
    const uint64_t mask = ((uint64_t)1 << window) - 1;
    for (int i = 0; i < rows; i++) {
        int bit = i * window, limb = bit / 64, offset = bit % 64;
        uint64_t word = 0;
        if (limb < 4) {
            word = k->l[limb] >> offset;
            if (offset + window > 64 && limb + 1 < 4) word |= k->l[limb + 1] << (64 - offset);
        }
        int d = (int)(word & mask) + carry;
        if (d > (1 << (window - 1))) {
            d -= 1 << window;
            carry = 1;
        } else {
            carry = 0;
        }
        digits[i] = (int8_t)d;
    }
}

static void accumulate(jacobian *acc, const affine *table, const int8_t *digits, int rows, int entries) {
    for (int i = 0; i < rows; i++) {
        int d = digits[i];
        if (d == 0) continue;
        const affine *q = table + (size_t)i * entries + (d > 0 ? d : -d) - 1;
        if (d > 0) {
            point_add_affine(acc, &q->x, &q->y);
        } else {
            fe y;
            fe_neg(&y, &q->y);
            point_add_affine(acc, &q->x, &y);
        }
    }
}

// Published once, complete, with release order; NULL until a build succeeds.
static _Atomic(affine *) generator_table;
static pthread_mutex_t generator_lock = PTHREAD_MUTEX_INITIALIZER;

static void *aligned_table(size_t size) {
    void *memory = NULL;
    return posix_memalign(&memory, 64, size) == 0 ? memory : NULL;
}

// The generator's table, built by the first caller; NULL when memory ran out, and then the next
// caller tries again. Only key loading calls this: a key keeps the pointer for verification.
static const affine *generator(void) {
    affine *table = atomic_load_explicit(&generator_table, memory_order_acquire);
    if (table) return table;
    pthread_mutex_lock(&generator_lock);
    table = atomic_load_explicit(&generator_table, memory_order_relaxed);
    if (!table) {
        table = aligned_table(sizeof(affine) * G_ROWS * G_ENTRIES);
        if (table && build_table(table, &GX_MONT, &GY_MONT, G_WINDOW, G_ROWS)) {
            atomic_store_explicit(&generator_table, table, memory_order_release);
        } else {
            free(table);
            table = NULL;
        }
    }
    pthread_mutex_unlock(&generator_lock);
    return table;
}

// ---------------------------------------------------------------------------------------------
// Keys and verification.

struct elicence_sm2_key {
    affine *table;                               // KEY_ROWS × KEY_ENTRIES, 64-byte aligned
    const affine *generator;                     // the shared table, complete before the key exists
    uint8_t z[32];
};

size_t elicence_sm2_key_table_size(void) { return sizeof(affine) * KEY_ROWS * KEY_ENTRIES; }
size_t elicence_sm2_generator_table_size(void) { return sizeof(affine) * G_ROWS * G_ENTRIES; }

static elicence_sm2_key *refuse(elicence_sm2_key_status *status, elicence_sm2_key_status reason) {
    if (status) *status = reason;
    return NULL;
}

elicence_sm2_key *elicence_sm2_key_new(const uint8_t *point, size_t point_length,
                                       const uint8_t *id, size_t id_length,
                                       elicence_sm2_key_status *status) {
    if ((id_length > 0 && !id) || id_length > 8191) return refuse(status, ELICENCE_SM2_KEY_BAD_ID);
    if (!point || point_length == 0) return refuse(status, ELICENCE_SM2_KEY_MALFORMED);
    fe x, y, xm, ym;
    if (point_length == 65 && point[0] == 0x04) {
        from_bytes(&x, point + 1);
        from_bytes(&y, point + 33);
        if (!less_than(&x, &P) || !less_than(&y, &P)) return refuse(status, ELICENCE_SM2_KEY_NOT_ON_CURVE);
        fe_to_mont(&xm, &x);
        fe_to_mont(&ym, &y);
        if (!on_curve(&xm, &ym)) return refuse(status, ELICENCE_SM2_KEY_NOT_ON_CURVE);
    } else if (point_length == 33 && (point[0] == 0x02 || point[0] == 0x03)) {
        from_bytes(&x, point + 1);
        if (!less_than(&x, &P)) return refuse(status, ELICENCE_SM2_KEY_NOT_ON_CURVE);
        fe_to_mont(&xm, &x);
        fe rhs, t;
        fe_sqr(&rhs, &xm);
        fe_mul(&rhs, &rhs, &xm);
        fe_add(&t, &xm, &xm);
        fe_add(&t, &t, &xm);
        fe_sub(&rhs, &rhs, &t);
        fe_add(&rhs, &rhs, &B_MONT);
        // p ≡ 3 (mod 4): a square root is rhs^((p + 1) / 4).
        static const fe root_exponent = {{0x4000000000000000, 0xffffffffc0000000, 0xffffffffffffffff, 0x3fffffffbfffffff}};
        fe_pow(&ym, &rhs, &root_exponent);
        if (!on_curve(&xm, &ym)) return refuse(status, ELICENCE_SM2_KEY_NOT_ON_CURVE);  // not a square
        fe_from_mont(&y, &ym);
        if ((int)(y.l[0] & 1) != (point[0] & 1)) {
            if (is_zero(&ym)) return refuse(status, ELICENCE_SM2_KEY_NOT_ON_CURVE);
            fe_neg(&ym, &ym);
        }
    } else if (point_length == 1 && point[0] == 0x00) {
        return refuse(status, ELICENCE_SM2_KEY_INFINITY);
    } else if (point[0] == 0x06 || point[0] == 0x07) {
        // Hybrid form (SEC 1, 2.3.3): RFC 5480, section 2.2, says a key whose first octet is not
        // 02, 03 or 04 MUST be rejected, whether or not the point is on the curve.
        return refuse(status, ELICENCE_SM2_KEY_HYBRID);
    } else {
        return refuse(status, ELICENCE_SM2_KEY_MALFORMED);
    }
    const affine *shared = generator();
    if (!shared) return refuse(status, ELICENCE_SM2_KEY_NO_MEMORY);

    elicence_sm2_key *key = malloc(sizeof *key);
    if (!key) return refuse(status, ELICENCE_SM2_KEY_NO_MEMORY);
    key->generator = shared;
    key->table = aligned_table(elicence_sm2_key_table_size());
    if (!key->table || !build_table(key->table, &xm, &ym, KEY_WINDOW, KEY_ROWS)) {
        free(key->table);
        free(key);
        return refuse(status, ELICENCE_SM2_KEY_NO_MEMORY);
    }
    uint8_t entl[2] = {(uint8_t)(id_length * 8 >> 8), (uint8_t)(id_length * 8)};
    uint8_t coordinates[64];
    fe_to_bytes(coordinates, &xm);
    fe_to_bytes(coordinates + 32, &ym);
    sm3_context context;
    sm3_init(&context);
    sm3_update(&context, entl, 2);
    if (id_length > 0) sm3_update(&context, id, id_length);
    sm3_update(&context, CURVE_BYTES, sizeof CURVE_BYTES);
    sm3_update(&context, coordinates, sizeof coordinates);
    sm3_final(&context, key->z);
    if (status) *status = ELICENCE_SM2_KEY_LOADED;
    return key;
}

void elicence_sm2_key_free(elicence_sm2_key *key) {
    if (!key) return;
    free(key->table);
    free(key);
}

void elicence_sm2_key_z(const elicence_sm2_key *key, uint8_t z[32]) { memcpy(z, key->z, 32); }

int elicence_sm2_verify_digest(const elicence_sm2_key *key, const uint8_t digest[32],
                               const uint8_t signature[64]) {
    fe r, s, t, e, c;
    from_bytes(&r, signature);
    from_bytes(&s, signature + 32);
    if (is_zero(&r) || !less_than(&r, &N)) return 0;
    if (is_zero(&s) || !less_than(&s, &N)) return 0;
    mod_add(&t, &r, &s, &N);
    if (is_zero(&t)) return 0;

    int8_t s_digits[G_ROWS], t_digits[KEY_ROWS];
    recode(s_digits, &s, G_WINDOW, G_ROWS);
    recode(t_digits, &t, KEY_WINDOW, KEY_ROWS);
    jacobian acc = {{{0}}, {{0}}, {{0}}};
    accumulate(&acc, key->generator, s_digits, G_ROWS, G_ENTRIES);
    accumulate(&acc, key->table, t_digits, KEY_ROWS, KEY_ENTRIES);
    if (is_infinity(&acc)) return 0;

    // e may exceed n once (e < 2^256 < 2n); c = (r − e) mod n.
    from_bytes(&e, digest);
    if (!less_than(&e, &N)) sub_raw(&e, &e, &N);
    mod_sub(&c, &r, &e, &N);
    fe zz, cm, candidate;
    fe_sqr(&zz, &acc.z);
    fe_to_mont(&cm, &c);
    fe_mul(&candidate, &cm, &zz);
    if (equal(&candidate, &acc.x)) return 1;
    if (less_than(&c, &P_MINUS_N)) {             // x1 = c + n < p is possible too
        fe cn;
        add_raw(&cn, &c, &N);
        fe_to_mont(&cm, &cn);
        fe_mul(&candidate, &cm, &zz);
        if (equal(&candidate, &acc.x)) return 1;
    }
    return 0;
}

int elicence_sm2_verify(const elicence_sm2_key *key, const uint8_t *message, size_t message_length,
                        const uint8_t signature[64]) {
    uint8_t digest[32];
    sm3_context context;
    sm3_init(&context);
    sm3_update(&context, key->z, 32);
    if (message_length > 0) sm3_update(&context, message, message_length);
    sm3_final(&context, digest);
    return elicence_sm2_verify_digest(key, digest, signature);
}

// ---------------------------------------------------------------------------------------------
// For tests only (see CSM2.h).

void elicence_sm2_test_field_mul(const uint8_t a[32], const uint8_t b[32], uint8_t product[32]) {
    fe x, y, r;
    from_bytes(&x, a);
    from_bytes(&y, b);
    fe_mul(&r, &x, &y);
    to_bytes(product, &r);
}

void elicence_sm2_test_field_sqr(const uint8_t a[32], uint8_t square[32]) {
    fe x, r;
    from_bytes(&x, a);
    fe_sqr(&r, &x);
    to_bytes(square, &r);
}
