/*
 * Bench-only prototype (issue 18): a UDP socket that reads many datagrams per readiness with
 * recvmmsg(2) and sends many with one sendmmsg(2), for comparing against node:dgram, which pays one
 * recvmsg, one sendmsg and one JS callback per datagram. Linux only.
 *
 * No per-datagram allocation: JS hands in four typed arrays, a receive area and a send area of
 * `batch` slots of `slot` bytes each, and one Uint32Array of [length, IPv4 address, port] triples
 * per area. One readiness of the fd (uv_poll_t on Node's own loop) becomes up to ROUNDS recvmmsg
 * calls, each handed to JS as ONE callback `onBatch(count)`; `sendBatch(h, start, count)` sends
 * slots start..start+count-1 with as few sendmmsg calls as the kernel allows.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Per readiness at most ROUNDS full batches, then back to the loop (libuv caps its reads at 32 per
 * readiness for the same reason: timers and other fds must not starve). uv_poll is level-triggered,
 * so whatever is left wakes us again. */
#define ROUNDS 4

enum { S_RECV_CALLS, S_DATAGRAMS, S_SEND_CALLS, S_SENT, S_DROPPED, S_ERRORS, S_TRUNCATED, S_COUNT };
static const char *stat_names[S_COUNT] = { "recvCalls", "datagrams", "sendCalls", "sent", "dropped", "errors", "truncated" };

typedef struct {
  int fd, closed, owners; /* owners: the JS handle and the uv handle; freed when both are gone */
  uv_poll_t poll;
  napi_env env;
  napi_ref on_batch, areas[4];
  napi_async_context async;
  uint32_t batch, slot;
  uint8_t *rdata, *sdata; /* slots of `slot` bytes */
  uint32_t *rmeta, *smeta; /* [length, IPv4 address, port] per slot, host byte order */
  struct mmsghdr *rmsg, *smsg;
  struct iovec *riov, *siov; struct sockaddr_in *raddr, *saddr;
  double stats[S_COUNT];
} udp_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "EMMSG_NAPI", #call " failed"); return NULL; } } while (0)
#define FAIL(msg) do { napi_throw_error(env, "EMMSG_ARG", msg); return NULL; } while (0)

static void on_readable(uv_poll_t *poll, int status, int events __attribute__((unused))) {
  udp_t *u = poll->data;
  if (status < 0) { u->stats[S_ERRORS]++; return; }
  napi_env env = u->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (int round = 0; round < ROUNDS && !u->closed; round++) {
    for (uint32_t i = 0; i < u->batch; i++) u->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in); /* in/out */
    int n = recvmmsg(u->fd, u->rmsg, u->batch, MSG_DONTWAIT, NULL);
    u->stats[S_RECV_CALLS]++;
    if (n < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN: a spurious wake-up or the last batch was exactly full; anything else (e.g. a
       * queued ICMP error, ECONNREFUSED) is counted and left for the next readiness. */
      if (errno != EAGAIN && errno != EWOULDBLOCK) u->stats[S_ERRORS]++;
      break;
    }
    u->stats[S_DATAGRAMS] += n;
    for (int i = 0; i < n; i++) {
      /* A datagram longer than its slot is cut by the kernel (MSG_TRUNC): hand it on as length 0
       * so JS drops it instead of parsing half a message. */
      int cut = (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (cut) u->stats[S_TRUNCATED]++;
      u->rmeta[3 * i] = cut ? 0 : u->rmsg[i].msg_len;
      u->rmeta[3 * i + 1] = ntohl(u->raddr[i].sin_addr.s_addr);
      u->rmeta[3 * i + 2] = ntohs(u->raddr[i].sin_port);
    }
    napi_value cb, recv, argv[1], result;
    napi_get_reference_value(env, u->on_batch, &cb);
    napi_get_global(env, &recv); /* make_callback wants an object receiver */
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    /* make_callback, not call_function: runs the microtask queue afterwards like any I/O callback. */
    if (napi_make_callback(env, u->async, recv, cb, 1, argv, &result) != napi_ok) {
      napi_value error; /* an exception in onBatch is uncaught, as in any I/O callback */
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
      break;
    }
    if ((uint32_t)n < u->batch) break;
  }
  napi_close_handle_scope(env, scope);
}

/* The socket behind argv[0] (the handle from open), or NULL with a JS exception pending. */
static udp_t *unwrap(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  udp_t *u;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= want && napi_get_value_external(env, argv[0], (void **)&u) == napi_ok) return u;
  napi_throw_error(env, "EMMSG_ARG", "expected the handle from open, then the other arguments");
  return NULL;
}

/* sendBatch(handle, start, count) → datagrams the kernel accepted. */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  uint32_t start, count;
  udp_t *u = unwrap(env, info, 3, argv);
  if (u == NULL) return NULL;
  if (napi_get_value_uint32(env, argv[1], &start) != napi_ok || napi_get_value_uint32(env, argv[2], &count) != napi_ok) FAIL("start and count must be integers");
  if (u->closed) FAIL("socket closed");
  if (start > u->batch || count > u->batch - start) FAIL("start + count exceeds the batch size");
  for (uint32_t i = start; i < start + count; i++) {
    if ((u->siov[i].iov_len = u->smeta[3 * i]) > u->slot) FAIL("a reply is longer than its slot");
    u->saddr[i].sin_addr.s_addr = htonl(u->smeta[3 * i + 1]);
    u->saddr[i].sin_port = htons((uint16_t)u->smeta[3 * i + 2]);
  }
  uint32_t i = start, end = start + count, sent = 0;
  while (i < end) {
    int n = sendmmsg(u->fd, u->smsg + i, end - i, MSG_DONTWAIT);
    u->stats[S_SEND_CALLS]++;
    if (n > 0) { i += n; sent += n; continue; } /* short send: resubmit the rest */
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      /* Send buffer full. UDP may drop, and CoAP's confirmable requests are retransmitted by the
       * client (RFC 7252 §4.2), so the rest of the batch is dropped and counted, never queued. */
      u->stats[S_DROPPED] += end - i;
      break;
    }
    u->stats[S_ERRORS]++; /* this datagram alone failed (e.g. a bad address): skip it */
    i++;
  }
  u->stats[S_SENT] += sent;
  CHECK(napi_create_uint32(env, sent, &out));
  return out;
}

static void release(udp_t *u) {
  if (--u->owners > 0) return;
  free(u->rmsg); free(u->smsg); free(u->riov); free(u->siov); free(u->raddr); free(u->saddr);
  free(u);
}

static void on_closed(uv_handle_t *h) { release(h->data); }

static void close_udp(udp_t *u) {
  if (u->closed) return;
  u->closed = 1; /* close() and then the finalizer: the second call does nothing */
  uv_poll_stop(&u->poll);
  close(u->fd);
  napi_delete_reference(u->env, u->on_batch);
  for (int k = 0; k < 4; k++) napi_delete_reference(u->env, u->areas[k]);
  napi_async_destroy(u->env, u->async);
  uv_close((uv_handle_t *)&u->poll, on_closed);
}

/* The JS handle was collected: close if JS never did (the poll handle keeps the loop alive, so
 * this only happens after close or at environment teardown). */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  close_udp(data);
  release(data);
}

static napi_value close_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  udp_t *u = unwrap(env, info, 1, argv);
  if (u != NULL) close_udp(u);
  return NULL;
}

static napi_value stats_js(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj, v;
  udp_t *u = unwrap(env, info, 1, argv);
  if (u == NULL) return NULL;
  CHECK(napi_create_object(env, &obj));
  for (int k = 0; k < S_COUNT; k++) {
    CHECK(napi_create_double(env, u->stats[k], &v));
    CHECK(napi_set_named_property(env, obj, stat_names[k], v));
  }
  return obj;
}

/* Pointer and length of a Uint8Array/Uint32Array argument, plus a reference that keeps it alive. */
static int area(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len, napi_ref *ref) {
  napi_typedarray_type type;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) return 0;
  return napi_create_reference(env, v, 1, ref) == napi_ok;
}

/* open(onBatch, slot, recvData, recvMeta, sendData, sendMeta) → {handle, port}; binds 127.0.0.1:0. */
static napi_value open_js(napi_env env, napi_callback_info info) {
  size_t argc = 6, len[4];
  napi_value argv[6], handle, name;
  napi_valuetype t;
  void *data[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) FAIL("open(onBatch, slot, recvData, recvMeta, sendData, sendMeta)");
  udp_t *u = calloc(1, sizeof *u);
  if (u == NULL) FAIL("out of memory");
  u->env = env;
  u->owners = 2;
  if (napi_get_value_uint32(env, argv[1], &u->slot) != napi_ok || u->slot == 0) { free(u); FAIL("slot must be a positive integer"); }
  napi_typedarray_type types[4] = { napi_uint8_array, napi_uint32_array, napi_uint8_array, napi_uint32_array };
  for (int k = 0; k < 4; k++)
    if (!area(env, argv[2 + k], types[k], &data[k], &len[k], &u->areas[k])) { free(u); FAIL("areas must be Uint8Array, Uint32Array, Uint8Array, Uint32Array"); }
  u->batch = (uint32_t)(len[0] / u->slot);
  if (u->batch == 0 || len[0] != len[2] || len[1] < 3 * (size_t)u->batch || len[3] < 3 * (size_t)u->batch) { free(u); FAIL("areas must hold the same number of slots, meta 3 words per slot"); }
  u->rdata = data[0]; u->rmeta = data[1]; u->sdata = data[2]; u->smeta = data[3];
  u->rmsg = calloc(u->batch, sizeof *u->rmsg); u->smsg = calloc(u->batch, sizeof *u->smsg);
  u->riov = calloc(u->batch, sizeof *u->riov); u->siov = calloc(u->batch, sizeof *u->siov);
  u->raddr = calloc(u->batch, sizeof *u->raddr); u->saddr = calloc(u->batch, sizeof *u->saddr);
  if (!u->rmsg || !u->smsg || !u->riov || !u->siov || !u->raddr || !u->saddr) FAIL("out of memory");
  for (uint32_t i = 0; i < u->batch; i++) {
    u->riov[i] = (struct iovec){ u->rdata + (size_t)i * u->slot, u->slot };
    u->siov[i].iov_base = u->sdata + (size_t)i * u->slot;
    u->saddr[i].sin_family = AF_INET;
    u->rmsg[i].msg_hdr = (struct msghdr){ .msg_name = &u->raddr[i], .msg_iov = &u->riov[i], .msg_iovlen = 1 };
    u->smsg[i].msg_hdr = (struct msghdr){ .msg_name = &u->saddr[i], .msg_namelen = sizeof(struct sockaddr_in), .msg_iov = &u->siov[i], .msg_iovlen = 1 };
  }
  u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof addr;
  if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&addr, sizeof addr) < 0 || getsockname(u->fd, (struct sockaddr *)&addr, &alen) < 0) {
    if (u->fd >= 0) close(u->fd);
    napi_throw_error(env, "EMMSG_SOCKET", strerror(errno));
    return NULL;
  }
  uv_loop_t *loop; CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[0], 1, &u->on_batch));
  CHECK(napi_create_string_utf8(env, "udp-mmsg", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &u->async));
  u->poll.data = u;
  if (uv_poll_init(loop, &u->poll, u->fd) != 0 || uv_poll_start(&u->poll, UV_READABLE, on_readable) != 0) FAIL("uv_poll_start failed");
  CHECK(napi_create_external(env, u, finalize, NULL, &handle));
  napi_value obj, port;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_uint32(env, ntohs(addr.sin_port), &port));
  CHECK(napi_set_named_property(env, obj, "handle", handle));
  CHECK(napi_set_named_property(env, obj, "port", port));
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = { { "open", NULL, open_js, NULL, NULL, NULL, napi_default, NULL },
    { "sendBatch", NULL, send_batch, NULL, NULL, NULL, napi_default, NULL }, { "stats", NULL, stats_js, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, close_js, NULL, NULL, NULL, napi_default, NULL } };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
