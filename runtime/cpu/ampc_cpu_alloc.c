/*===- ampc_cpu_alloc.c - the buffer cache of CPU libraries ---------------===//
 *
 * The allocation functions MLIR's memref lowering calls with
 * use-generic-functions (_mlir_memref_to_llvm_alloc, ..._aligned_alloc,
 * ..._free), linked (hidden) into every CPU library ampc builds.
 *
 * A training step allocates the same temporaries, of the same sizes, every
 * step. glibc serves large blocks with mmap, or trims them back to the
 * system when they are freed, so each step would fault every page of every
 * temporary in again (a fifth of a step's time on mlp-medium). Blocks of
 * 64 KiB and more are therefore kept on free lists by exact size and handed
 * out again; smaller ones go straight to malloc. The cache never holds more
 * than AMPC_CPU_CACHE_BYTES (default 4 GiB; 0 disables it) and is released
 * when the library is unloaded.
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN __attribute__((visibility("hidden")))

enum { kHeader = 64, kMinCached = 64 * 1024, kBuckets = 256 };

/* Every block starts with a header of kHeader bytes holding its size
 * (0: a small block from malloc) and keeps the alignment asked for. */
struct Header {
  size_t bytes;
  void *base; /* what malloc/aligned_alloc returned */
};

struct Bucket {
  size_t bytes;
  void **blocks; /* user pointers */
  size_t count, capacity;
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct Bucket buckets[kBuckets];
static size_t cachedBytes, limitBytes = (size_t)-1;

static size_t limit(void) {
  if (limitBytes == (size_t)-1) {
    const char *text = getenv("AMPC_CPU_CACHE_BYTES");
    limitBytes = text && *text ? (size_t)strtoull(text, NULL, 10) : ((size_t)4 << 30);
  }
  return limitBytes;
}

static struct Bucket *bucketFor(size_t bytes, int create) {
  size_t start = (bytes / kMinCached) % kBuckets;
  for (size_t i = 0; i < kBuckets; ++i) {
    struct Bucket *bucket = &buckets[(start + i) % kBuckets];
    if (bucket->bytes == bytes)
      return bucket;
    if (bucket->bytes == 0) {
      if (!create)
        return NULL;
      bucket->bytes = bytes;
      return bucket;
    }
  }
  return NULL;
}

static void *fresh(size_t alignment, size_t bytes) {
  if (alignment < kHeader)
    alignment = kHeader;
  /* The user block starts a multiple of `alignment` after the base. */
  size_t offset = (kHeader + alignment - 1) / alignment * alignment;
  size_t total = offset + bytes;
  void *base = aligned_alloc(alignment, (total + alignment - 1) / alignment * alignment);
  if (!base)
    return NULL;
  char *user = (char *)base + offset;
  struct Header *header = (struct Header *)(user - sizeof(struct Header));
  header->bytes = bytes;
  header->base = base;
  return user;
}

static void *allocate(size_t alignment, size_t bytes) {
  if (bytes >= kMinCached && alignment <= kHeader && limit() > 0) {
    pthread_mutex_lock(&mutex);
    struct Bucket *bucket = bucketFor(bytes, 0);
    if (bucket && bucket->count) {
      void *block = bucket->blocks[--bucket->count];
      cachedBytes -= bytes;
      pthread_mutex_unlock(&mutex);
      return block;
    }
    pthread_mutex_unlock(&mutex);
  }
  return fresh(alignment, bytes);
}

HIDDEN void *_mlir_memref_to_llvm_alloc(size_t bytes) { return allocate(16, bytes); }

HIDDEN void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  return allocate(alignment, bytes);
}

HIDDEN void _mlir_memref_to_llvm_free(void *block) {
  if (!block)
    return;
  struct Header *header = (struct Header *)((char *)block - sizeof(struct Header));
  size_t bytes = header->bytes;
  if (bytes >= kMinCached && (char *)block - (char *)header->base == kHeader) {
    pthread_mutex_lock(&mutex);
    if (cachedBytes + bytes <= limit()) {
      struct Bucket *bucket = bucketFor(bytes, 1);
      if (bucket && bucket->count == bucket->capacity) {
        size_t capacity = bucket->capacity ? 2 * bucket->capacity : 4;
        void **grown = realloc(bucket->blocks, capacity * sizeof(void *));
        if (grown) {
          bucket->blocks = grown;
          bucket->capacity = capacity;
        }
      }
      if (bucket && bucket->count < bucket->capacity) {
        bucket->blocks[bucket->count++] = block;
        cachedBytes += bytes;
        pthread_mutex_unlock(&mutex);
        return;
      }
    }
    pthread_mutex_unlock(&mutex);
  }
  free(header->base);
}

__attribute__((destructor)) static void releaseCache(void) {
  for (size_t i = 0; i < kBuckets; ++i) {
    struct Bucket *bucket = &buckets[i];
    for (size_t j = 0; j < bucket->count; ++j) {
      struct Header *header = (struct Header *)((char *)bucket->blocks[j] - sizeof(struct Header));
      free(header->base);
    }
    free(bucket->blocks);
    memset(bucket, 0, sizeof *bucket);
  }
  cachedBytes = 0;
}
