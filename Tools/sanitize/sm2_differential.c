// The CSM2 verifier (Sources/CSM2) against OpenSSL 3, built by Tools/sanitize-sm2 with
// AddressSanitizer and UndefinedBehaviorSanitizer. Every check compares a verdict of ours with
// OpenSSL's (or with OpenSSL's arithmetic) and counts it; any disagreement is printed and makes the
// exit status 1. SM2 is always used with the distinguishing ID 1234567812345678, set explicitly.
//
// sm2.c is compiled with malloc and posix_memalign renamed to the failing_* functions below, so
// that each allocation of a key load can be made to fail in turn.
//
//   sm2_differential [KEYS]     KEYS random keys (default 160), eight messages each
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include "CSM2.h"

static const uint8_t ID[] = "1234567812345678";
#define ID_LENGTH 16

static long checks, failures;

static void fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "DISAGREEMENT: ");
    vfprintf(stderr, format, arguments);
    fprintf(stderr, "\n");
    va_end(arguments);
    failures++;
}

#define CHECK(condition, ...) do { checks++; if (!(condition)) fail(__VA_ARGS__); } while (0)

static void die(const char *what) {
    fprintf(stderr, "sm2_differential: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

// ---------------------------------------------------------------------------------------------
// Allocation failure injection for sm2.c.

static long allocations, fail_at = -1;   // the allocation numbered fail_at fails

void *failing_malloc(size_t size) {
    if (allocations++ == fail_at) return NULL;
    return malloc(size);
}

int failing_posix_memalign(void **memory, size_t alignment, size_t size) {
    if (allocations++ == fail_at) return 12;   // ENOMEM
    return posix_memalign(memory, alignment, size);
}

// ---------------------------------------------------------------------------------------------
// OpenSSL helpers: the group, scalars mod n, points as 65-byte 04‖x‖y.

static EC_GROUP *group;
static BN_CTX *bn;
static const BIGNUM *order;
static BIGNUM *field;

static void random_bytes(uint8_t *out, size_t length) {
    if (RAND_bytes(out, (int)length) != 1) die("RAND_bytes");
}

static BIGNUM *number(const uint8_t bytes[32]) {
    BIGNUM *x = BN_bin2bn(bytes, 32, NULL);
    if (!x) die("BN_bin2bn");
    return x;
}

static void bytes_of(uint8_t out[32], const BIGNUM *x) {
    if (BN_bn2binpad(x, out, 32) != 32) die("BN_bn2binpad");
}

static void random_scalar(uint8_t out[32]) {
    BIGNUM *x = BN_new();
    do {
        if (!BN_rand_range(x, order)) die("BN_rand_range");
    } while (BN_is_zero(x));
    bytes_of(out, x);
    BN_free(x);
}

// out = a ∘ b (mod n).
static void scalar_op(uint8_t out[32], const uint8_t a[32], const uint8_t b[32], char op) {
    BIGNUM *x = number(a), *y = b ? number(b) : NULL, *r = BN_new();
    int ok = op == '+' ? BN_mod_add(r, x, y, order, bn)
           : op == '-' ? BN_mod_sub(r, x, y, order, bn)
           : op == '*' ? BN_mod_mul(r, x, y, order, bn)
           : BN_mod_inverse(r, x, order, bn) != NULL;
    if (!ok) die("scalar arithmetic");
    bytes_of(out, r);
    BN_free(x); BN_free(y); BN_free(r);
}

// out = g·G + k·Q (q NULL: g·G only); returns 0 for the point at infinity.
static int point_mul(uint8_t out[65], const uint8_t g[32], const uint8_t q[65], const uint8_t k[32]) {
    EC_POINT *result = EC_POINT_new(group), *point = NULL;
    BIGNUM *gn = number(g), *kn = NULL;
    if (q) {
        point = EC_POINT_new(group);
        kn = number(k);
        if (!EC_POINT_oct2point(group, point, q, 65, bn)) die("EC_POINT_oct2point");
    }
    if (!EC_POINT_mul(group, result, gn, point, kn, bn)) die("EC_POINT_mul");
    int finite = !EC_POINT_is_at_infinity(group, result);
    if (finite && EC_POINT_point2oct(group, result, POINT_CONVERSION_UNCOMPRESSED, out, 65, bn) != 65) die("point2oct");
    EC_POINT_free(result); EC_POINT_free(point); BN_free(gn); BN_free(kn);
    return finite;
}

// The point with this x and an even y, when there is one.
static int point_with_x(uint8_t out[65], const BIGNUM *x) {
    EC_POINT *point = EC_POINT_new(group);
    int found = EC_POINT_set_compressed_coordinates(group, point, x, 0, bn) == 1;
    ERR_clear_error();
    if (found && EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, out, 65, bn) != 65) die("point2oct");
    EC_POINT_free(point);
    return found;
}

// A SubjectPublicKeyInfo for an SM2 point of any length, as OpenSSL reads it.
static EVP_PKEY *public_key(const uint8_t *point, size_t length) {
    static const uint8_t algorithm[] = {
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};
    uint8_t der[128];
    size_t bits = length + 1, total = sizeof algorithm + 2 + bits;
    der[0] = 0x30; der[1] = (uint8_t)total;
    memcpy(der + 2, algorithm, sizeof algorithm);
    der[2 + sizeof algorithm] = 0x03;
    der[3 + sizeof algorithm] = (uint8_t)bits;
    der[4 + sizeof algorithm] = 0x00;
    memcpy(der + 5 + sizeof algorithm, point, length);
    const uint8_t *cursor = der;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &cursor, (long)(2 + total));
    ERR_clear_error();
    return key;
}

// r‖s from OpenSSL's DER, and back.
static int raw_from_der(uint8_t raw[64], const uint8_t *der, size_t length) {
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)length);
    if (!sig) return 0;
    bytes_of(raw, ECDSA_SIG_get0_r(sig));
    bytes_of(raw + 32, ECDSA_SIG_get0_s(sig));
    ECDSA_SIG_free(sig);
    return 1;
}

static size_t der_from_raw(uint8_t *der, const uint8_t raw[64]) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    uint8_t *out = der;
    int length = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    return length > 0 ? (size_t)length : 0;
}

// OpenSSL's SM2-with-SM3 over a message, with the ID set on a context we own.
static int openssl_digest_op(EVP_PKEY *key, int sign, const uint8_t *message, size_t length,
                             uint8_t *der, size_t *der_length) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(key, NULL);
    if (!md || !context || EVP_PKEY_CTX_set1_id(context, ID, ID_LENGTH) != 1) die("EVP_PKEY_CTX_set1_id");
    EVP_MD_CTX_set_pkey_ctx(md, context);
    int ok;
    if (sign) {
        ok = EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key) == 1
          && EVP_DigestSign(md, der, der_length, message, length) == 1;
    } else {
        ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key) == 1
          && EVP_DigestVerify(md, der, *der_length, message, length) == 1;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(context);
    ERR_clear_error();
    return ok;
}

static int openssl_verify(EVP_PKEY *key, const uint8_t *message, size_t length, const uint8_t raw[64]) {
    uint8_t der[80];
    size_t der_length = der_from_raw(der, raw);
    return der_length > 0 && openssl_digest_op(key, 0, message, length, der, &der_length);
}

// OpenSSL's verification of a given digest e (no SM3 step).
static int openssl_verify_digest(EVP_PKEY *key, const uint8_t e[32], const uint8_t raw[64]) {
    uint8_t der[80];
    size_t der_length = der_from_raw(der, raw);
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(key, NULL);
    if (!context || EVP_PKEY_verify_init(context) != 1) die("EVP_PKEY_verify_init");
    int ok = EVP_PKEY_verify(context, der, der_length, e, 32) == 1;
    EVP_PKEY_CTX_free(context);
    ERR_clear_error();
    return ok;
}

static elicence_sm2_key *load(const uint8_t *point, size_t length, elicence_sm2_key_status *status) {
    elicence_sm2_key_status ignored;
    return elicence_sm2_key_new(point, length, ID, ID_LENGTH, status ? status : &ignored);
}

// Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA) computed with OpenSSL's SM3 and curve parameters.
static void openssl_z(uint8_t z[32], const uint8_t point[65]) {
    uint8_t input[2 + ID_LENGTH + 6 * 32];
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
    if (!EC_GROUP_get_curve(group, p, a, b, bn)) die("EC_GROUP_get_curve");
    if (!EC_POINT_get_affine_coordinates(group, EC_GROUP_get0_generator(group), gx, gy, bn)) die("generator");
    input[0] = 0; input[1] = ID_LENGTH * 8;
    memcpy(input + 2, ID, ID_LENGTH);
    bytes_of(input + 2 + ID_LENGTH, a);
    bytes_of(input + 2 + ID_LENGTH + 32, b);
    bytes_of(input + 2 + ID_LENGTH + 64, gx);
    bytes_of(input + 2 + ID_LENGTH + 96, gy);
    memcpy(input + 2 + ID_LENGTH + 128, point + 1, 64);
    unsigned int size = 32;
    if (!EVP_Digest(input, sizeof input, z, &size, EVP_sm3(), NULL)) die("EVP_Digest");
    BN_free(p); BN_free(a); BN_free(b); BN_free(gx); BN_free(gy);
}

static void hex(char *out, const uint8_t *bytes, size_t length) {
    for (size_t i = 0; i < length; i++) sprintf(out + 2 * i, "%02x", bytes[i]);
}

// ---------------------------------------------------------------------------------------------
// 1. Every allocation of the first key load fails in turn: the load reports it, leaks nothing, and
//    a later load succeeds (the generator's table is built again after a failed build).

static void allocation_failures(void) {
    uint8_t g[65];
    static const uint8_t one[32] = {[31] = 1};
    point_mul(g, one, NULL, NULL);
    for (long k = 0;; k++) {
        allocations = 0;
        fail_at = k;
        elicence_sm2_key_status status;
        elicence_sm2_key *key = load(g, 65, &status);
        fail_at = -1;
        if (key) {
            // Allocation 0 of a first load is the generator table's: it failed, and now a load works.
            CHECK(k > 0, "the first load succeeded with its first allocation failing");
            elicence_sm2_key_free(key);
            break;
        }
        CHECK(status == ELICENCE_SM2_KEY_NO_MEMORY, "allocation %ld failing: status %d", k, (int)status);
        if (k > 100) { fail("allocation failures never end"); break; }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Key encodings: ours loads exactly what OpenSSL reads as an SM2 point, except the hybrid form
//    (RFC 5480) and the point at infinity, which ours refuses on purpose; Z matches.

static void key_encodings(void) {
    uint8_t scalar[32], point[65], z[32], expected[32];
    for (int i = 0; i < 200; i++) {
        random_scalar(scalar);
        point_mul(point, scalar, NULL, NULL);
        elicence_sm2_key *key = load(point, 65, NULL);
        CHECK(key != NULL, "random point refused");
        if (!key) continue;
        elicence_sm2_key_z(key, z);
        openssl_z(expected, point);
        CHECK(memcmp(z, expected, 32) == 0, "Z differs");
        elicence_sm2_key_free(key);

        // Compressed, both parities: the right one gives the same Z, the other the negated point's.
        uint8_t compressed[33];
        memcpy(compressed + 1, point + 1, 32);
        for (int parity = 0; parity < 2; parity++) {
            compressed[0] = (uint8_t)(0x02 | parity);
            key = load(compressed, 33, NULL);
            CHECK(key != NULL, "compressed point refused");
            if (!key) continue;
            EC_POINT *decoded = EC_POINT_new(group);
            uint8_t full[65];
            if (!EC_POINT_oct2point(group, decoded, compressed, 33, bn)
                || EC_POINT_point2oct(group, decoded, POINT_CONVERSION_UNCOMPRESSED, full, 65, bn) != 65) die("decompress");
            EC_POINT_free(decoded);
            elicence_sm2_key_z(key, z);
            openssl_z(expected, full);
            CHECK(memcmp(z, expected, 32) == 0, "Z of a compressed point differs");
            elicence_sm2_key_free(key);
        }

        // Hybrid: on the curve, read by OpenSSL, refused by ours with its own reason.
        uint8_t hybrid[65];
        memcpy(hybrid, point, 65);
        hybrid[0] = (uint8_t)(0x06 | (point[64] & 1));
        elicence_sm2_key_status status;
        CHECK(load(hybrid, 65, &status) == NULL && status == ELICENCE_SM2_KEY_HYBRID, "hybrid form not refused as such");

        // A random x: a point exactly when OpenSSL finds one.
        uint8_t x[32];
        random_bytes(x, 32);
        memcpy(compressed + 1, x, 32);
        compressed[0] = (uint8_t)(0x02 | (x[0] & 1));
        EC_POINT *candidate = EC_POINT_new(group);
        int theirs = EC_POINT_oct2point(group, candidate, compressed, 33, bn) == 1;
        ERR_clear_error();
        EC_POINT_free(candidate);
        key = load(compressed, 33, &status);
        CHECK((key != NULL) == theirs, "random x: ours %d, OpenSSL %d", key != NULL, theirs);
        CHECK(key || status == ELICENCE_SM2_KEY_NOT_ON_CURVE, "random x refused for status %d", (int)status);
        elicence_sm2_key_free(key);

        // One bit of y changed: off the curve for both.
        uint8_t off[65];
        memcpy(off, point, 65);
        off[33 + (i % 32)] ^= (uint8_t)(1 << (i % 8));
        EVP_PKEY *openssl = public_key(off, 65);
        key = load(off, 65, &status);
        CHECK(!key && status == ELICENCE_SM2_KEY_NOT_ON_CURVE, "a point off the curve loaded");
        CHECK(openssl == NULL, "OpenSSL read a point off the curve");
        EVP_PKEY_free(openssl);
    }

    // Fixed malformed encodings.
    uint8_t g[65];
    static const uint8_t one[32] = {[31] = 1};
    point_mul(g, one, NULL, NULL);
    uint8_t p_bytes[32];
    bytes_of(p_bytes, field);
    uint8_t x_is_p[65], y_is_p[65];
    memcpy(x_is_p, g, 65); memcpy(x_is_p + 1, p_bytes, 32);
    memcpy(y_is_p, g, 65); memcpy(y_is_p + 33, p_bytes, 32);
    static const uint8_t infinity[1] = {0};
    struct { const char *name; const uint8_t *point; size_t length; elicence_sm2_key_status status; } cases[] = {
        {"infinity", infinity, 1, ELICENCE_SM2_KEY_INFINITY},
        {"x = p", x_is_p, 65, ELICENCE_SM2_KEY_NOT_ON_CURVE},
        {"y = p", y_is_p, 65, ELICENCE_SM2_KEY_NOT_ON_CURVE},
        {"64 bytes", g + 1, 64, ELICENCE_SM2_KEY_MALFORMED},
        {"04 with 33 bytes", g, 33, ELICENCE_SM2_KEY_MALFORMED},
        {"empty", g, 0, ELICENCE_SM2_KEY_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        elicence_sm2_key_status status;
        elicence_sm2_key *key = load(cases[i].point, cases[i].length, &status);
        CHECK(!key && status == cases[i].status, "%s: status %d", cases[i].name, (int)status);
        elicence_sm2_key_free(key);
    }
    // SPKIs holding the point at infinity and a hybrid point: OpenSSL 3.0 reads both as keys. It
    // hands back no point for the first (LicenceCrypto refuses such a key for that) and 06/07‖x‖y
    // for the second, which ours refuses for what it is.
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        uint8_t encoded[65];
        memcpy(encoded, g, 65);
        encoded[0] = (uint8_t)(0x06 | (g[64] & 1));
        EVP_PKEY *key = hybrid ? public_key(encoded, 65) : public_key(infinity, 1);
        size_t encoded_length = 0;
        int got = key && EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, encoded, sizeof encoded, &encoded_length);
        ERR_clear_error();
        if (got) {
            elicence_sm2_key_status status;
            elicence_sm2_key *ours = load(encoded, encoded_length, &status);
            CHECK(!ours && status == (hybrid ? ELICENCE_SM2_KEY_HYBRID : ELICENCE_SM2_KEY_INFINITY),
                  "%s point from OpenSSL: status %d", hybrid ? "a hybrid" : "the infinity", (int)status);
            elicence_sm2_key_free(ours);
        } else {
            CHECK(!hybrid, "OpenSSL gives no point for a hybrid SPKI");
        }
        EVP_PKEY_free(key);
    }
    // The ID's length limit.
    static uint8_t long_id[8192];
    elicence_sm2_key_status status;
    elicence_sm2_key *key = elicence_sm2_key_new(g, 65, long_id, 8192, &status);
    CHECK(!key && status == ELICENCE_SM2_KEY_BAD_ID, "an ID of 8192 bytes accepted");
    key = elicence_sm2_key_new(g, 65, long_id, 8191, &status);
    CHECK(key != NULL, "an ID of 8191 bytes refused");
    elicence_sm2_key_free(key);
}

// ---------------------------------------------------------------------------------------------
// 3. Random keys and messages signed by OpenSSL; changed bits, malformed signatures, other keys.

static void corrupt_checks(elicence_sm2_key *ours, EVP_PKEY *theirs, const uint8_t *message, size_t length,
                           const uint8_t signature[64]) {
    uint8_t n[32], n_plus_1[32], candidate[64];
    bytes_of(n, order);
    BIGNUM *next = BN_dup(order);
    BN_add_word(next, 1);
    bytes_of(n_plus_1, next);
    BN_free(next);
    struct { const char *name; int part; int kind; } forms[] = {
        {"r = 0", 0, 0}, {"s = 0", 1, 0}, {"r = n", 0, 1}, {"s = n", 1, 1}, {"r = n + 1", 0, 2},
        {"s = n + 1", 1, 2}, {"r = 2^256 - 1", 0, 3}, {"s = 2^256 - 1", 1, 3},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        memcpy(candidate, signature, 64);
        uint8_t *target = candidate + 32 * forms[i].part;
        switch (forms[i].kind) {
        case 0: memset(target, 0, 32); break;
        case 1: memcpy(target, n, 32); break;
        case 2: memcpy(target, n_plus_1, 32); break;
        default: memset(target, 0xff, 32); break;
        }
        int a = elicence_sm2_verify(ours, message, length, candidate);
        int b = openssl_verify(theirs, message, length, candidate);
        CHECK(a == b && !a, "%s: ours %d, OpenSSL %d", forms[i].name, a, b);
    }
    // r + s ≡ 0 (mod n), and r, s swapped.
    memcpy(candidate, signature, 32);
    scalar_op(candidate + 32, n, signature, '-');
    int a = elicence_sm2_verify(ours, message, length, candidate);
    int b = openssl_verify(theirs, message, length, candidate);
    CHECK(a == b && !a, "r + s = 0: ours %d, OpenSSL %d", a, b);
    memcpy(candidate, signature + 32, 32);
    memcpy(candidate + 32, signature, 32);
    a = elicence_sm2_verify(ours, message, length, candidate);
    b = openssl_verify(theirs, message, length, candidate);
    CHECK(a == b, "r, s swapped: ours %d, OpenSSL %d", a, b);
}

static void random_signatures(int keys) {
    EVP_PKEY_CTX *generator = EVP_PKEY_CTX_new_id(EVP_PKEY_SM2, NULL);
    if (!generator || EVP_PKEY_keygen_init(generator) != 1) die("SM2 keygen init");
    elicence_sm2_key *previous = NULL;
    uint8_t previous_signature[64], previous_message[64];
    for (int k = 0; k < keys; k++) {
        EVP_PKEY *key = NULL;
        if (EVP_PKEY_generate(generator, &key) != 1) die("EVP_PKEY_generate");
        uint8_t point[65];
        size_t point_length = 0;
        if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_length) || point_length != 65) die("pub");
        elicence_sm2_key *ours = load(point, 65, NULL);
        CHECK(ours != NULL, "key %d refused", k);
        if (!ours) { EVP_PKEY_free(key); continue; }
        for (int m = 0; m < 8; m++) {
            uint8_t message[700];
            uint16_t random_length;
            random_bytes((uint8_t *)&random_length, sizeof random_length);
            size_t length = m == 0 ? 0 : random_length % sizeof message;
            random_bytes(message, length);
            uint8_t der[80], signature[64];
            size_t der_length = sizeof der;
            if (!openssl_digest_op(key, 1, message, length, der, &der_length)) die("EVP_DigestSign");
            if (!raw_from_der(signature, der, der_length)) die("d2i_ECDSA_SIG");
            int a = elicence_sm2_verify(ours, message, length, signature);
            int b = openssl_verify(key, message, length, signature);
            CHECK(a && b, "genuine signature: ours %d, OpenSSL %d (key %d, length %zu)", a, b, k, length);

            // One changed bit in r, in s or in the message.
            uint8_t choice[3];
            random_bytes(choice, 3);
            uint8_t bad_signature[64], bad_message[701];
            memcpy(bad_signature, signature, 64);
            memcpy(bad_message, message, length);
            size_t bad_length = length;
            switch (choice[0] % 3) {
            case 0: bad_signature[choice[1] % 32] ^= (uint8_t)(1 << (choice[2] % 8)); break;
            case 1: bad_signature[32 + choice[1] % 32] ^= (uint8_t)(1 << (choice[2] % 8)); break;
            default:
                if (length == 0) { bad_message[0] = 0; bad_length = 1; }
                else bad_message[choice[1] % length] ^= (uint8_t)(1 << (choice[2] % 8));
            }
            a = elicence_sm2_verify(ours, bad_message, bad_length, bad_signature);
            b = openssl_verify(key, bad_message, bad_length, bad_signature);
            CHECK(a == b && !a, "changed bit: ours %d, OpenSSL %d", a, b);

            if (m == 0) corrupt_checks(ours, key, message, length, signature);
            if (m == 1 && previous) {
                // The previous key's signature over its own message, checked with this key.
                a = elicence_sm2_verify(ours, previous_message, 64, previous_signature);
                CHECK(!a, "another key's signature accepted");
            }
            if (m == 1) {
                random_bytes(previous_message, 64);
                der_length = sizeof der;
                if (!openssl_digest_op(key, 1, previous_message, 64, der, &der_length)) die("sign");
                if (!raw_from_der(previous_signature, der, der_length)) die("d2i_ECDSA_SIG");
            }
        }
        elicence_sm2_key_free(previous);
        previous = ours;
        EVP_PKEY_free(key);
    }
    elicence_sm2_key_free(previous);
    EVP_PKEY_CTX_free(generator);
}

// ---------------------------------------------------------------------------------------------
// 4. Signatures built point by point for a chosen digest, reaching the rare paths: x1 near 0, n,
//    p − n and p; e ≥ n; a doubling inside the sum; the sum at infinity.

// Checks r‖s over digest e with key (65 bytes) both ways, plus e with its last bit changed, and
// e + n when that is below 2^256 (the same e mod n, so the same verdict).
static void digest_case(const char *name, const uint8_t key_point[65], const uint8_t e[32], const uint8_t signature[64],
                        int expected) {
    elicence_sm2_key *ours = load(key_point, 65, NULL);
    EVP_PKEY *theirs = public_key(key_point, 65);
    if (!ours || !theirs) die("loading a constructed key");
    int a = elicence_sm2_verify_digest(ours, e, signature);
    int b = openssl_verify_digest(theirs, e, signature);
    CHECK(a == b && a == expected, "%s: ours %d, OpenSSL %d, expected %d", name, a, b, expected);
    uint8_t other[32];
    memcpy(other, e, 32);
    other[31] ^= 1;
    a = elicence_sm2_verify_digest(ours, other, signature);
    b = openssl_verify_digest(theirs, other, signature);
    CHECK(a == b && !a, "%s, e changed: ours %d, OpenSSL %d", name, a, b);
    BIGNUM *en = number(e), *sum = BN_new();
    BN_add(sum, en, order);
    if (BN_num_bytes(sum) <= 32) {
        uint8_t wide[32];
        bytes_of(wide, sum);
        a = elicence_sm2_verify_digest(ours, wide, signature);
        b = openssl_verify_digest(theirs, wide, signature);
        CHECK(a == b && a == expected, "%s, e + n: ours %d, OpenSSL %d", name, a, b);
    }
    BN_free(en); BN_free(sum);
    elicence_sm2_key_free(ours);
    EVP_PKEY_free(theirs);
}

// The sum s·G + t·P lands on R (given) for random r, s: P = t⁻¹(R − s·G), e = r − x(R) mod n.
static void chosen_point(const char *name, const uint8_t r_point[65]) {
    uint8_t r[32], s[32], t[32], t_inverse[32], zero[32] = {0}, minus[32], key[65], x1[32], e[32], signature[64];
    random_scalar(r);
    random_scalar(s);
    scalar_op(t, r, s, '+');
    scalar_op(t_inverse, t, NULL, 'i');
    scalar_op(minus, s, t_inverse, '*');
    scalar_op(minus, zero, minus, '-');
    if (!point_mul(key, minus, r_point, t_inverse)) return;   // P at infinity: 2^-256
    BIGNUM *x = number(r_point + 1);
    BN_nnmod(x, x, order, bn);
    bytes_of(x1, x);
    BN_free(x);
    scalar_op(e, r, x1, '-');
    memcpy(signature, r, 32);
    memcpy(signature + 32, s, 32);
    digest_case(name, key, e, signature, 1);
}

static void points_with_x_near(const char *name, const BIGNUM *centre, int below, int above) {
    BIGNUM *x = BN_new();
    for (int d = -below; d <= above; d++) {
        BN_copy(x, centre);
        if (d < 0) BN_sub_word(x, (BN_ULONG)-d); else BN_add_word(x, (BN_ULONG)d);
        uint8_t point[65];
        if (BN_is_negative(x) || BN_cmp(x, field) >= 0 || !point_with_x(point, x)) continue;
        char label[64];
        snprintf(label, sizeof label, "x1 = %s %+d", name, d);
        for (int i = 0; i < 3; i++) chosen_point(label, point);
    }
    BN_free(x);
}

static void chosen_signatures(void) {
    BIGNUM *zero = BN_new(), *p_minus_n = BN_new();
    BN_zero(zero);
    BN_sub(p_minus_n, field, order);
    points_with_x_near("0", zero, 0, 40);
    points_with_x_near("n", order, 40, 40);
    points_with_x_near("p - n", p_minus_n, 40, 40);
    points_with_x_near("p", field, 40, 0);
    BN_free(zero); BN_free(p_minus_n);

    // e ≥ n: R = k·G at random, r = (e + x1) mod n for an e chosen in [n, 2^256).
    for (int i = 0; i < 200; i++) {
        uint8_t k[32], r_point[65], e[32], r[32], s[32], t[32], t_inverse[32], zero_bytes[32] = {0};
        uint8_t minus[32], key[65], x1[32], reduced[32], signature[64];
        random_scalar(k);
        point_mul(r_point, k, NULL, NULL);
        BIGNUM *en = BN_new(), *room = BN_new(), *top = BN_new();
        BN_set_bit(top, 256);
        BN_sub(room, top, order);                                  // 2^256 − n
        BN_rand_range(en, room);
        if (i == 0) BN_zero(en);                                   // e = n exactly
        if (i == 1) { BN_copy(en, room); BN_sub_word(en, 1); }     // e = 2^256 − 1
        BN_add(en, en, order);
        bytes_of(e, en);
        BIGNUM *x = number(r_point + 1);
        BN_nnmod(x, x, order, bn);
        bytes_of(x1, x);
        BN_nnmod(en, en, order, bn);
        bytes_of(reduced, en);
        scalar_op(r, reduced, x1, '+');
        random_scalar(s);
        scalar_op(t, r, s, '+');
        BN_free(en); BN_free(room); BN_free(top); BN_free(x);
        if (memcmp(t, zero_bytes, 32) == 0 || memcmp(r, zero_bytes, 32) == 0) continue;
        scalar_op(t_inverse, t, NULL, 'i');
        scalar_op(minus, s, t_inverse, '*');
        scalar_op(minus, zero_bytes, minus, '-');
        if (!point_mul(key, minus, r_point, t_inverse)) continue;
        memcpy(signature, r, 32);
        memcpy(signature + 32, s, 32);
        digest_case("e >= n", key, e, signature, 1);
    }

    // A message whose e = SM3(Z‖M) is at least n, for the key G and the ID 1234567812345678 (found
    // by a search over messages; see messageWhoseDigestIsAtLeastN in SM2VerifierTests.swift),
    // signed with d = 1: r = (e + x(k·G)) mod n, s = (k − r)/2 mod n.
    {
        static const char message[] = "e >= n: 0000d7802117";
        uint8_t g[65], one[32] = {[31] = 1}, two[32] = {[31] = 2}, half[32], z[32], input[32 + sizeof message - 1];
        uint8_t e[32], reduced[32], k[32], k_point[65], x1[32], r[32], s[32], signature[64];
        point_mul(g, one, NULL, NULL);
        elicence_sm2_key *ours = load(g, 65, NULL);
        EVP_PKEY *theirs = public_key(g, 65);
        if (!ours || !theirs) die("the key G");
        elicence_sm2_key_z(ours, z);
        memcpy(input, z, 32);
        memcpy(input + 32, message, sizeof message - 1);
        unsigned int size = 32;
        if (!EVP_Digest(input, sizeof input, e, &size, EVP_sm3(), NULL)) die("EVP_Digest");
        BIGNUM *en = number(e);
        CHECK(BN_cmp(en, order) >= 0, "the searched-for message has e < n");
        BN_nnmod(en, en, order, bn);
        bytes_of(reduced, en);
        BN_free(en);
        scalar_op(half, two, NULL, 'i');
        for (int i = 0; i < 16; i++) {
            random_scalar(k);
            point_mul(k_point, k, NULL, NULL);
            BIGNUM *x = number(k_point + 1);
            BN_nnmod(x, x, order, bn);
            bytes_of(x1, x);
            BN_free(x);
            scalar_op(r, reduced, x1, '+');
            scalar_op(s, k, r, '-');
            scalar_op(s, s, half, '*');
            memcpy(signature, r, 32);
            memcpy(signature + 32, s, 32);
            int a = elicence_sm2_verify(ours, (const uint8_t *)message, sizeof message - 1, signature);
            int b = openssl_verify(theirs, (const uint8_t *)message, sizeof message - 1, signature);
            CHECK(a && b, "message with e >= n: ours %d, OpenSSL %d", a, b);
        }
        elicence_sm2_key_free(ours);
        EVP_PKEY_free(theirs);
    }

    // The key G (private key 1): s·G + t·G = (r + 2s)·G for any r, s.
    uint8_t g[65], one[32] = {[31] = 1}, two[32] = {[31] = 2}, n[32];
    point_mul(g, one, NULL, NULL);
    bytes_of(n, order);
    struct { const char *name; uint64_t r, s; int r_from_n; } small[] = {
        {"r = s = 1", 1, 1, 0},
        {"doubling inside the sum", 64, 1, 0},   // t = 65: the key's first digit adds G to s·G = G
        {"small r and s", 64 * 64 + 1, 64 * 64 + 1, 0},
        {"infinity (r + 2s = n)", 2, 1, 1},
        {"r = s = n - 1", 1, 1, 2},
    };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        uint8_t r[32] = {0}, s[32] = {0}, doubled[32], sum_scalar[32], sum[65], x1[32], e[32], signature[64];
        for (int j = 0; j < 8; j++) {
            r[31 - j] = (uint8_t)(small[i].r >> (8 * j));
            s[31 - j] = (uint8_t)(small[i].s >> (8 * j));
        }
        if (small[i].r_from_n == 1) scalar_op(r, n, two, '-');
        if (small[i].r_from_n == 2) { scalar_op(r, n, one, '-'); scalar_op(s, n, one, '-'); }
        scalar_op(doubled, s, s, '+');
        scalar_op(sum_scalar, r, doubled, '+');
        int finite = point_mul(sum, sum_scalar, NULL, NULL);
        if (finite) {
            BIGNUM *x = number(sum + 1);
            BN_nnmod(x, x, order, bn);
            bytes_of(x1, x);
            BN_free(x);
            scalar_op(e, r, x1, '-');
        } else {
            random_bytes(e, 32);
        }
        memcpy(signature, r, 32);
        memcpy(signature + 32, s, 32);
        digest_case(small[i].name, g, e, signature, finite);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The field's Montgomery multiplication against BIGNUM: a·b·2^−256 mod p.

static void field_products(void) {
    BIGNUM *r_inverse = BN_new(), *top = BN_new(), *a = BN_new(), *b = BN_new(), *product = BN_new();
    BN_set_bit(top, 256);
    if (!BN_mod_inverse(r_inverse, top, field, bn)) die("BN_mod_inverse");
    BIGNUM *edges[12];
    for (int i = 0; i < 12; i++) edges[i] = BN_new();
    for (int i = 0; i < 5; i++) { BN_copy(edges[i], field); BN_sub_word(edges[i], (BN_ULONG)(i + 1)); }   // p − 1 … p − 5
    for (int i = 5; i < 8; i++) BN_set_word(edges[i], (BN_ULONG)(i - 5));                                 // 0, 1, 2
    BN_set_bit(edges[8], 255);                                                                            // 2^255
    BN_mod(edges[9], top, field, bn);                                                                     // R mod p (Montgomery 1)
    BN_sub(edges[10], field, edges[9]);                                                                   // −R mod p
    BN_rshift1(edges[11], field);                                                                         // (p − 1) / 2
    int count = 12 + 20000;
    for (int i = 0; i < count; i++) {
        for (int j = 0; j < (i < 12 ? 12 : 1); j++) {
            if (i < 12) { BN_copy(a, edges[i]); BN_copy(b, edges[j]); }
            else { BN_rand_range(a, field); BN_rand_range(b, field); if (i % 3 == 0) BN_copy(b, a); }
            uint8_t x[32], y[32], ours[32], expected[32];
            bytes_of(x, a);
            bytes_of(y, b);
            BN_mod_mul(product, a, b, field, bn);
            BN_mod_mul(product, product, r_inverse, field, bn);
            bytes_of(expected, product);
            elicence_sm2_test_field_mul(x, y, ours);
            if (memcmp(ours, expected, 32) != 0) {
                char hx[65], hy[65];
                hex(hx, x, 32); hex(hy, y, 32);
                fail("field_mul(%s, %s)", hx, hy);
            }
            checks++;
            if (BN_cmp(a, b) == 0) {
                elicence_sm2_test_field_sqr(x, ours);
                CHECK(memcmp(ours, expected, 32) == 0, "field_sqr differs from field_mul");
            }
        }
    }
    for (int i = 0; i < 12; i++) BN_free(edges[i]);
    BN_free(r_inverse); BN_free(top); BN_free(a); BN_free(b); BN_free(product);
}

int main(int argc, char **argv) {
    int keys = argc > 1 ? atoi(argv[1]) : 160;
    group = EC_GROUP_new_by_curve_name(NID_sm2);
    bn = BN_CTX_new();
    field = BN_new();
    if (!group || !bn || !field || !EC_GROUP_get_curve(group, field, NULL, NULL, bn)) die("the sm2p256v1 group");
    order = EC_GROUP_get0_order(group);

    allocation_failures();   // first: the generator's table is not built yet
    long before = checks;
    key_encodings();
    printf("sm2_differential: key loading, allocation failures: %ld checks\n", checks - before);
    before = checks;
    field_products();
    printf("sm2_differential: field products: %ld checks\n", checks - before);
    before = checks;
    chosen_signatures();
    printf("sm2_differential: constructed signatures: %ld checks\n", checks - before);
    before = checks;
    random_signatures(keys);
    printf("sm2_differential: random keys (%d), messages and changed bits: %ld checks\n", keys, checks - before);

    BN_free(field);
    BN_CTX_free(bn);
    EC_GROUP_free(group);
    if (failures) {
        printf("sm2_differential: %ld of %ld checks disagree with OpenSSL\n", failures, checks);
        return 1;
    }
    printf("sm2_differential: all %ld checks agree with OpenSSL\n", checks);
    return 0;
}
