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

/// Loads a public key from its SEC 1 encoding (65 bytes 04‖x‖y, or 33 bytes 02/03‖x) and the
/// distinguishing ID used to compute Z (at most 8191 bytes). Returns NULL when the encoding is
/// not a point on sm2p256v1 other than the point at infinity, or when memory runs out.
elicence_sm2_key *elicence_sm2_key_new(const uint8_t *point, size_t point_length,
                                       const uint8_t *id, size_t id_length);

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

#ifdef __cplusplus
}
#endif
#endif
