/*
 * LZ4 frame compression for pgherd through the system's liblz4 (Debian's liblz4-1, which apt
 * itself depends on). On WAL, lz4-napi (a Rust port) compresses at 0.75-0.9 GB/s on this
 * machine where liblz4 does 1.3 GB/s, and compressing is most of what WAL archiving and an lz4
 * base backup cost in CPU. Decompression stays with lz4-napi, which is as fast as liblz4 there.
 *
 * `npm ci` builds it (scripts/build-native.mjs); when it cannot, src/backup/lz4-codec.ts uses
 * lz4-napi. Without liblz4-dev, the declarations below (lz4frame.h's stable API, whose ABI
 * liblz4 keeps across 1.x) stand in for the header.
 *
 * compressFrame(buffer, level) -> Promise<Buffer>: one frame (4 MiB independent blocks, the
 * content size in the header, no checksum, as lz4-napi writes), compressed on libuv's thread
 * pool, so frames of two parts or two WAL files compress on two cores.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<lz4frame.h>)
#include <lz4frame.h>
#define PGHERD_HAVE_LZ4FRAME_H 1
#endif
#endif

#ifndef PGHERD_HAVE_LZ4FRAME_H
typedef enum { LZ4F_default = 0, LZ4F_max64KB = 4, LZ4F_max256KB = 5, LZ4F_max1MB = 6, LZ4F_max4MB = 7 } LZ4F_blockSizeID_t;
typedef enum { LZ4F_blockLinked = 0, LZ4F_blockIndependent } LZ4F_blockMode_t;
typedef enum { LZ4F_noContentChecksum = 0, LZ4F_contentChecksumEnabled } LZ4F_contentChecksum_t;
typedef enum { LZ4F_noBlockChecksum = 0, LZ4F_blockChecksumEnabled } LZ4F_blockChecksum_t;
typedef enum { LZ4F_frame = 0, LZ4F_skippableFrame } LZ4F_frameType_t;
typedef struct {
  LZ4F_blockSizeID_t blockSizeID;
  LZ4F_blockMode_t blockMode;
  LZ4F_contentChecksum_t contentChecksumFlag;
  LZ4F_frameType_t frameType;
  unsigned long long contentSize;
  unsigned dictID;
  LZ4F_blockChecksum_t blockChecksumFlag;
} LZ4F_frameInfo_t;
typedef struct {
  LZ4F_frameInfo_t frameInfo;
  int compressionLevel;
  unsigned autoFlush;
  unsigned favorDecSpeed;
  unsigned reserved[3];
} LZ4F_preferences_t;
unsigned LZ4F_isError(size_t code);
const char *LZ4F_getErrorName(size_t code);
size_t LZ4F_compressFrameBound(size_t srcSize, const LZ4F_preferences_t *prefs);
size_t LZ4F_compressFrame(void *dst, size_t dstCapacity, const void *src, size_t srcSize,
                          const LZ4F_preferences_t *prefs);
#endif

/* One compression: the input Buffer is held by a reference until it completes. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char *input;
  size_t input_length;
  int level;
  unsigned char *output;
  size_t output_length;
  char error[200];
} job_t;

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max4MB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentSize = job->input_length;
  prefs.compressionLevel = job->level;
  size_t bound = LZ4F_compressFrameBound(job->input_length, &prefs);
  job->output = malloc(bound);
  if (job->output == NULL) {
    snprintf(job->error, sizeof job->error, "lz4 compression: out of memory (%zu bytes)", bound);
    return;
  }
  size_t n = LZ4F_compressFrame(job->output, bound, job->input, job->input_length, &prefs);
  if (LZ4F_isError(n)) {
    snprintf(job->error, sizeof job->error, "lz4 compression failed: %s", LZ4F_getErrorName(n));
    free(job->output);
    job->output = NULL;
    return;
  }
  job->output_length = n;
}

/* The frame's memory goes to the Buffer as it is (no copy) and is freed when it is collected. */
static void free_output(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void reject(napi_env env, job_t *job, const char *text) {
  napi_value message, error;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_reject_deferred(env, job->deferred, error);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  if (status != napi_ok && job->error[0] == 0) snprintf(job->error, sizeof job->error, "lz4 compression was cancelled");
  if (job->error[0] != 0) {
    free(job->output);
    reject(env, job, job->error);
  } else {
    /* The bound is larger than the frame: give the rest back before handing it over. */
    unsigned char *bytes = job->output;
    size_t length = job->output_length;
    unsigned char *smaller = realloc(bytes, length > 0 ? length : 1);
    if (smaller != NULL) bytes = smaller;
    napi_value result;
    void *copy;
    if (napi_create_external_buffer(env, length, bytes, free_output, NULL, &result) == napi_ok) {
      napi_resolve_deferred(env, job->deferred, result);
    } else if (napi_create_buffer_copy(env, length, bytes, &copy, &result) == napi_ok) {
      /* A Node built without external buffers: one copy. */
      free(bytes);
      napi_resolve_deferred(env, job->deferred, result);
    } else {
      free(bytes);
      reject(env, job, "lz4 compression: cannot hand over the frame");
    }
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value compress_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value promise, name;
  bool is_buffer = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "compressFrame expects a Buffer");
    return NULL;
  }
  job_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "lz4 compression: out of memory");
    return NULL;
  }
  void *bytes;
  if (napi_get_buffer_info(env, argv[0], &bytes, &job->input_length) != napi_ok) {
    free(job);
    napi_throw_error(env, NULL, "lz4 compression: cannot read the Buffer");
    return NULL;
  }
  job->input = bytes;
  job->level = 1;
  int32_t level;
  if (argc >= 2 && napi_get_value_int32(env, argv[1], &level) == napi_ok) job->level = level;
  if (napi_create_string_utf8(env, "pgherd-lz4-compress", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &job->input_ref) != napi_ok) {
    free(job);
    napi_throw_error(env, NULL, "lz4 compression: cannot hold the Buffer");
    return NULL;
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok) {
    napi_delete_reference(env, job->input_ref);
    free(job);
    napi_throw_error(env, NULL, "lz4 compression: cannot start the work");
    return NULL;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    napi_delete_reference(env, job->input_ref);
    napi_value message, error;
    napi_create_string_utf8(env, "lz4 compression: cannot queue the work", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
    free(job);
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "compressFrame", NAPI_AUTO_LENGTH, compress_frame, NULL, &fn);
  napi_set_named_property(env, exports, "compressFrame", fn);
  return exports;
}
