#ifndef ELICENCE_CSM2_H
#define ELICENCE_CSM2_H
// SM2 signature verification (GB/T 32918.2) on the curve sm2p256v1, with SM3 (GB/T 32905).
//
// Verification only: every input is public, so the code is variable-time. A key is loaded once
// (the point is checked, its Z value computed and a table of multiples built) and can then be
// used from any number of threads at once: nothing in it changes after
// elicence_sm2_key_new returns.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A trusted SM2 public key with its precomputed table. Opaque; free with elicence_sm2_key_free.
typedef struct elicence_sm2_key elicence_sm2_key;

/// Why elicence_sm2_key_new returned NULL (or ELICENCE_SM2_KEY_LOADED when it did not).
typedef enum {
    ELICENCE_SM2_KEY_LOADED = 0,
    /// Neither 65 bytes 04‖x‖y nor 33 bytes 02‖x or 03‖x (nor one of the two cases below).
    ELICENCE_SM2_KEY_MALFORMED = 1,
    /// The single byte 00: the point at infinity, which is no public key.
    ELICENCE_SM2_KEY_INFINITY = 2,
    /// First byte 06 or 07, SEC 1's hybrid form. Refused even when the point is on the curve:
    /// RFC 5480, section 2.2, allows only 02, 03 and 04.
    ELICENCE_SM2_KEY_HYBRID = 3,
    /// A coordinate is not below p, or (x, y) is not on sm2p256v1 (no y for a compressed x).
    ELICENCE_SM2_KEY_NOT_ON_CURVE = 4,
    /// The distinguishing ID is longer than 8191 bytes (ENTL is 16 bits of bit length), or NULL.
    ELICENCE_SM2_KEY_BAD_ID = 5,
    /// Memory ran out (for the key's table, or the generator's; both are tried again next time).
    ELICENCE_SM2_KEY_NO_MEMORY = 6,
} elicence_sm2_key_status;

/// Loads a public key from its SEC 1 encoding (65 bytes 04‖x‖y, or 33 bytes 02/03‖x) and the
/// distinguishing ID used to compute Z (at most 8191 bytes). Returns NULL when the key is refused,
/// and then sets *status (when status is not NULL) to the reason.
elicence_sm2_key *elicence_sm2_key_new(const uint8_t *point, size_t point_length,
                                       const uint8_t *id, size_t id_length,
                                       elicence_sm2_key_status *status);

/// Frees a key from elicence_sm2_key_new; NULL is ignored.
void elicence_sm2_key_free(elicence_sm2_key *key);

/// The key's Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA).
void elicence_sm2_key_z(const elicence_sm2_key *key, uint8_t z[32]);

/// 1 when signature (r‖s, 32 bytes each, big-endian) is a valid SM2 signature by key over
/// message (e = SM3(Z‖message)), 0 otherwise.
int elicence_sm2_verify(const elicence_sm2_key *key, const uint8_t *message, size_t message_length,
                        const uint8_t signature[64]);

/// The same check for a given digest e (32 bytes, big-endian).
int elicence_sm2_verify_digest(const elicence_sm2_key *key, const uint8_t digest[32],
                               const uint8_t signature[64]);

/// Bytes of precomputed table held by each key, and by the shared table for the generator.
size_t elicence_sm2_key_table_size(void);
size_t elicence_sm2_generator_table_size(void);

/// SM3 (GB/T 32905) of data.
void elicence_sm3(const uint8_t *data, size_t length, uint8_t digest[32]);

// For tests only: no part of ELicence calls these. They expose the field's Montgomery
// multiplication so that its rare carries ((p − 1)², (p − 1)(p − 2), …) can be compared with
// another implementation. Inputs are 32-byte big-endian numbers below p taken as they are (already
// in Montgomery form); the output is a·b·2^−256 mod p (a·a·2^−256 mod p), fully reduced.
void elicence_sm2_test_field_mul(const uint8_t a[32], const uint8_t b[32], uint8_t product[32]);
void elicence_sm2_test_field_sqr(const uint8_t a[32], uint8_t square[32]);

#ifdef __cplusplus
}
#endif
#endif
