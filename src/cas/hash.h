/*
 * XXH3-128 content hashes, rendered as AWS Deadline Cloud's job attachments
 * render them (Python xxhash's hexdigest()): the 128-bit value in canonical
 * big-endian byte order as 32 lowercase hexadecimal digits.  This is also
 * what `xxhsum -H2` prints.
 *
 * The v2023-03-03 manifest has one whole-file hash per file (no chunk
 * hashes), so large files are hashed by streaming them through one hasher
 * in fixed-size reads (CAS_IO_BUFSZ).
 */
#ifndef DROVER_CAS_HASH_H
#define DROVER_CAS_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>
/* Debian's libxxhash picks SSE2, AVX2 or AVX-512 at run time on x86 */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_include)
#if __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#endif
#endif

#define CAS_HASH_HEXLEN	32
#define CAS_HASH_BINLEN	16	/* the canonical (big-endian) bytes */
#define CAS_HASH_ALG	"xxh128"
/* Read size for streaming files: big enough that syscalls do not dominate. */
#define CAS_IO_BUFSZ	(1024 * 1024)

struct cas_hasher {
	XXH3_state_t	*st;
};

/* Allocates the state (aborts on out-of-memory); release with _release. */
void	cas_hasher_init(struct cas_hasher *);
void	cas_hasher_release(struct cas_hasher *);
void	cas_hasher_reset(struct cas_hasher *);
void	cas_hasher_update(struct cas_hasher *, const void *, size_t);
/* Writes 32 hex digits and a NUL; the hasher can be reset and reused. */
void	cas_hasher_final(struct cas_hasher *, char hex[CAS_HASH_HEXLEN + 1]);

/* One-shot hash of a memory block. */
void	cas_hash_mem(const void *, size_t, char hex[CAS_HASH_HEXLEN + 1]);
/* The same as canonical bytes, and their hex form. */
void	cas_hash_mem_bin(const void *, size_t,
	    unsigned char bin[CAS_HASH_BINLEN]);
void	cas_hash_bin_to_hex(const unsigned char bin[CAS_HASH_BINLEN],
	    char hex[CAS_HASH_HEXLEN + 1]);
/* Parses 32 lowercase hex digits; 0, or -1 if s is not one. */
int	cas_hash_hex_to_bin(const char *s, unsigned char bin[CAS_HASH_BINLEN]);
/*
 * Hashes everything readable from fd (from its current offset) using buf
 * (bufsz bytes, caller-owned scratch).  Returns 0 and the byte count in
 * *nbytes, or -1 with errno set.
 */
int	cas_hash_fd(int fd, void *buf, size_t bufsz,
	    char hex[CAS_HASH_HEXLEN + 1], uint64_t *nbytes);
/* True if s is exactly 32 lowercase hex digits (safe as a file name). */
int	cas_hash_valid(const char *s);

#endif
