/*
 * XXH3-128 hashing on top of Debian's libxxhash, with the hex rendering used
 * by job attachments (canonical big-endian form, lowercase).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cas/hash.h"
#include "common/log.h"

void
cas_hash_bin_to_hex(const unsigned char bin[CAS_HASH_BINLEN],
    char hex[CAS_HASH_HEXLEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < CAS_HASH_BINLEN; i++) {
		hex[2 * i] = digits[bin[i] >> 4];
		hex[2 * i + 1] = digits[bin[i] & 0xf];
	}
	hex[CAS_HASH_HEXLEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
cas_hash_hex_to_bin(const char *s, unsigned char bin[CAS_HASH_BINLEN])
{
	for (size_t i = 0; i < CAS_HASH_BINLEN; i++) {
		int hi = hexval(s[2 * i]), lo;

		if (hi < 0 || (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		bin[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[CAS_HASH_HEXLEN] == '\0' ? 0 : -1;
}

static void
hash_to_bin(XXH128_hash_t h, unsigned char bin[CAS_HASH_BINLEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	memcpy(bin, c.digest, CAS_HASH_BINLEN);
}

static void
hash_to_hex(XXH128_hash_t h, char hex[CAS_HASH_HEXLEN + 1])
{
	unsigned char bin[CAS_HASH_BINLEN];

	hash_to_bin(h, bin);
	cas_hash_bin_to_hex(bin, hex);
}

void
cas_hasher_init(struct cas_hasher *h)
{
	h->st = XXH3_createState();
	if (h->st == NULL)
		fatalx("out of memory");
	XXH3_128bits_reset(h->st);
}

void
cas_hasher_release(struct cas_hasher *h)
{
	if (h->st != NULL)
		XXH3_freeState(h->st);
	h->st = NULL;
}

void
cas_hasher_reset(struct cas_hasher *h)
{
	XXH3_128bits_reset(h->st);
}

void
cas_hasher_update(struct cas_hasher *h, const void *p, size_t n)
{
	if (n > 0)
		XXH3_128bits_update(h->st, p, n);
}

void
cas_hasher_final(struct cas_hasher *h, char hex[CAS_HASH_HEXLEN + 1])
{
	hash_to_hex(XXH3_128bits_digest(h->st), hex);
}

void
cas_hash_mem(const void *p, size_t n, char hex[CAS_HASH_HEXLEN + 1])
{
	hash_to_hex(XXH3_128bits(n ? p : "", n), hex);
}

void
cas_hash_mem_bin(const void *p, size_t n, unsigned char bin[CAS_HASH_BINLEN])
{
	hash_to_bin(XXH3_128bits(n ? p : "", n), bin);
}

int
cas_hash_fd(int fd, void *buf, size_t bufsz, char hex[CAS_HASH_HEXLEN + 1],
    uint64_t *nbytes)
{
	struct cas_hasher h = { NULL };
	uint64_t total = 0;
	ssize_t r;
	int first = 1;

	for (;;) {
		r = read(fd, buf, bufsz);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		if (first) {
			/* small files: one read, then EOF; hash in one shot */
			ssize_t r2;

			first = 0;
			if ((size_t)r < bufsz) {
				do
					r2 = read(fd, (char *)buf + r, bufsz - r);
				while (r2 < 0 && errno == EINTR);
				if (r2 < 0)
					goto fail;
				if (r2 == 0) {
					cas_hash_mem(buf, (size_t)r, hex);
					*nbytes = (uint64_t)r;
					return 0;
				}
				r += r2;
			}
			cas_hasher_init(&h);
		}
		cas_hasher_update(&h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	if (first) {
		cas_hash_mem("", 0, hex);
		*nbytes = 0;
		return 0;
	}
	cas_hasher_final(&h, hex);
	cas_hasher_release(&h);
	*nbytes = total;
	return 0;
fail:
	{
		int saved = errno;

		cas_hasher_release(&h);
		errno = saved;
	}
	return -1;
}

int
cas_hash_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == CAS_HASH_HEXLEN;
}
