/* attach — photo and document attachments of hazards and inspection tasks, stored on disk by
 * content (a major hazard's documents may be PDF, govern.h).
 *
 * A file is named by the SHA-256 of its bytes plus the extension of its type
 * ("<64 hex>.png") inside the attachments directory, so identical content is stored once. It is
 * written to a temporary file, fsync'ed and renamed, and the directory fsync'ed, before the
 * database row that names it commits. The database row (table attachments) records the hash,
 * size and type; reading a file back checks the hash.
 *
 * attach_sniff and attach_sha256_hex are pure. attach_store runs on the store writer thread
 * (inside the job that inserts the row), never on the loop. attach_read runs where it is called
 * (the loop, for GET) and reads at most ATTACH_MAX_BYTES. */
#ifndef DG_ATTACH_H
#define DG_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#define ATTACH_MAX_BYTES (8 * 1024 * 1024)
#define ATTACH_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* Checks an upload's declared Content-Type (parameters ignored, case-insensitive) against the
 * supported types and the bytes' magic number (a PDF must also end with its %%EOF trailer).
 * Returns 0 with the canonical type and the file extension, -EPROTONOSUPPORT for a type that is
 * not image/jpeg, image/png, image/webp or application/pdf, or -EINVAL when the bytes are not
 * of the declared type. */
int attach_sniff(const char *content_type, const void *buf, size_t len, const char **type, const char **ext);

/* Lower-case hex SHA-256 of buf into out (ATTACH_SHA256_HEX bytes). 0 or -EIO. */
int attach_sha256_hex(const void *buf, size_t len, char *out);

/* "<dir>" when configured, else "<db_path>.attachments"; malloc'd, NULL when out of memory. */
char *attach_dir(const char *configured, const char *db_path);

/* Writer thread. Makes sure dir/<sha256>.<ext> holds buf (creating the directory if needed;
 * an existing file with the same content is kept, a damaged one replaced), durably. Fills the
 * hex hash and the file name (relative to dir). 0 or negative errno. */
int attach_store(const char *dir, const void *buf, size_t len, const char *ext, char *sha256_hex, char *file,
                 size_t filelen);

/* Reads dir/file into a malloc'd buffer, hashing as it reads. 0; -ENOENT when missing;
 * -EBADMSG when the size or the hash differ from the expected ones (the file is damaged);
 * other negative errno on I/O errors. */
int attach_read(const char *dir, const char *file, const char *sha256_hex, int64_t size, char **out, size_t *outlen);

#endif
