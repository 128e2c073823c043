/*
 * paf_native: AF_UNIX SOCK_SEQPACKET sockets for Node.js, which Node core
 * lacks (docs/transports.md §2). XCM's ux/uxf transports carry one Pathfinder
 * message per packet, so interoperating with them needs real SEQPACKET
 * sockets; a SOCK_STREAM socket never meets an XCM peer.
 *
 * Design:
 *  - N-API version 8, plain C, no threads. Every socket is non-blocking and
 *    watched by one libuv uv_poll_t on Node's own event loop. The handle is
 *    started for reading only while JavaScript wants input, and for writing
 *    only while output is queued, so an idle socket costs nothing.
 *  - A socket is handed to JavaScript as an external value. All events
 *    (accept, message, end, error, drain) go to one JavaScript callback per
 *    socket, inside a callback scope so that process.nextTick work queued by
 *    the callback (output batching) runs when the readiness event is done.
 *  - Synchronous calls throw Error objects whose `code` is the errno name
 *    (ECONNREFUSED, EADDRINUSE, ...); asynchronous failures arrive as an
 *    error event carrying such an object. Nothing here aborts the process.
 *  - Every file descriptor is closed exactly once: by close(), or by the
 *    finalizer if JavaScript lost an open socket at environment teardown.
 */

#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Bumped whenever the JavaScript-visible interface changes. */
#define ADDON_ABI 1

/* XCM's message size limit (docs/transports.md §2): receive buffer and send cap. */
#define MAX_MESSAGE (256 * 1024)
/* XCM asks for a send buffer this large so a maximal message fits. */
#define SEND_BUFFER_SIZE (256 * 1024)
/* XCM uses 32; a reconnect storm of thousands of clients needs more (README, "Decisions"). */
#define LISTEN_BACKLOG 1024
/* Work done per readiness event before other sockets get their turn. */
#define ACCEPTS_PER_EVENT 16
#define RECEIVES_PER_EVENT 64
/* Messages handed to one sendmmsg() call. */
#define SEND_BATCH 64
/* Output a socket may queue before send() refuses more (ENOBUFS). */
#define DEFAULT_QUEUE_LIMIT ((size_t)128 << 20)
/* Guards against foreign externals passed in from JavaScript. */
#define SOCK_MAGIC 0x50414653u /* "PAFS" */

enum event {
    EV_MESSAGE = 1, /* value: Buffer holding one whole packet */
    EV_END = 2,     /* value: undefined; the peer closed the connection */
    EV_ERROR = 3,   /* value: Error with code/errno/syscall */
    EV_DRAIN = 4,   /* value: undefined; queued output all went out */
    EV_ACCEPT = 5   /* value: the external handle of the new connection */
};

enum sock_kind { KIND_LISTENER, KIND_CONNECTION, KIND_DATAGRAM };

enum poll_state { POLL_OPEN, POLL_CLOSING, POLL_CLOSED };

/* Per-environment state (one per Node.js main thread or worker). */
struct env_state {
    uv_loop_t *loop;
    /* One async context serves every socket: async_hooks sees them as one resource. */
    napi_ref resource;
    napi_async_context async;
    /* Held in reserve so an EMFILE listener can shed a connection instead of spinning. */
    int reserve_fd;
    char rbuf[MAX_MESSAGE];
};

struct out_msg {
    struct out_msg *next;
    size_t len;
    char data[];
};

struct paf_sock {
    uint32_t magic;
    napi_env env;
    struct env_state *st;
    int fd; /* -1 once closed */
    enum sock_kind kind;
    uv_poll_t poll;
    enum poll_state poll_state;
    int poll_events; /* events the poll handle is currently started with */
    bool want_read;
    /* Set after end-of-connection or a fatal error: no more polling. */
    bool done;
    bool finalized;
    napi_ref self;     /* strong while open: an open socket is never collected */
    napi_ref callback; /* may be NULL */
    struct out_msg *head, *tail;
    size_t queued;
    size_t queue_limit;
};

/* ---------------------------------------------------------------- errors */

static void errno_name(int err, char *buf, size_t size) {
    /* libuv's error codes are the negated errno values on Unix. */
    uv_err_name_r(-err, buf, size);
}

static napi_value make_error(napi_env env, const char *syscall, int err, const char *detail) {
    char code[64], text[256], message[512];
    napi_value js_code, js_message, error, value;
    errno_name(err, code, sizeof code);
    const char *reason = strerror_r(err, text, sizeof text);
    if (detail != NULL)
        snprintf(message, sizeof message, "%s %s: %s", syscall, code, detail);
    else
        snprintf(message, sizeof message, "%s %s: %s", syscall, code, reason);
    if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
        napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message) != napi_ok ||
        napi_create_error(env, js_code, js_message, &error) != napi_ok)
        return NULL;
    /* Node's own system errors carry the negated errno. */
    if (napi_create_int32(env, -err, &value) == napi_ok)
        napi_set_named_property(env, error, "errno", value);
    if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok)
        napi_set_named_property(env, error, "syscall", value);
    return error;
}

/* Throws and returns NULL so callers can `return throw_errno(...)`. */
static napi_value throw_errno(napi_env env, const char *syscall, int err, const char *detail) {
    napi_value error = make_error(env, syscall, err, detail);
    if (error != NULL)
        napi_throw(env, error);
    else
        napi_throw_error(env, NULL, syscall);
    return NULL;
}

/* Closes a socket that failed half-way through its set-up and throws the
 * errno of the failed call (saved first: close may change errno). */
static napi_value close_and_throw(napi_env env, int fd, const char *syscall) {
    int err = errno;
    close(fd);
    return throw_errno(env, syscall, err, NULL);
}

static napi_value throw_type(napi_env env, const char *message) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
}

/* ------------------------------------------------------------ addresses */

/*
 * Abstract names (ux): sun_path[0] = 0 followed by the name's bytes, length
 * offsetof(sun_path) + 1 + strlen(name), no trailing NUL counted. Paths
 * (uxf): NUL-terminated as usual. Both sides must encode alike to meet.
 */
static int make_address(const char *name, size_t len, bool abstract, struct sockaddr_un *sun, socklen_t *addrlen) {
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (len == 0 || len > sizeof sun->sun_path - 1)
        return EINVAL;
    if (abstract) {
        memcpy(sun->sun_path + 1, name, len);
        *addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    } else {
        if (memchr(name, '\0', len) != NULL)
            return EINVAL;
        memcpy(sun->sun_path, name, len);
        *addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

/* Reads a JavaScript string argument as UTF-8 into buf (at most size-1 bytes). */
static bool get_name(napi_env env, napi_value value, char *buf, size_t size, size_t *len) {
    napi_valuetype type;
    size_t full;
    if (napi_typeof(env, value, &type) != napi_ok || type != napi_string)
        return false;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &full) != napi_ok)
        return false;
    if (full >= size) {
        *len = full; /* caller sees it is too long */
        return true;
    }
    return napi_get_value_string_utf8(env, value, buf, size, len) == napi_ok;
}

static bool get_bool(napi_env env, napi_value value, bool *out) {
    return napi_get_value_bool(env, value, out) == napi_ok;
}

/* Turns a socket name from getsockname/getpeername into {name, abstract, bound}. */
static napi_value name_object(napi_env env, const struct sockaddr_un *sun, socklen_t addrlen) {
    napi_value obj, name, flag;
    size_t base = offsetof(struct sockaddr_un, sun_path);
    const char *bytes = "";
    size_t len = 0;
    bool abstract = false, bound = addrlen > base;
    if (bound) {
        if (sun->sun_path[0] == '\0') {
            abstract = true;
            bytes = sun->sun_path + 1;
            len = addrlen - base - 1;
        } else {
            bytes = sun->sun_path;
            len = strnlen(sun->sun_path, addrlen - base);
        }
    }
    if (napi_create_object(env, &obj) != napi_ok ||
        napi_create_string_utf8(env, bytes, len, &name) != napi_ok)
        return NULL;
    napi_set_named_property(env, obj, "name", name);
    napi_get_boolean(env, abstract, &flag);
    napi_set_named_property(env, obj, "abstract", flag);
    napi_get_boolean(env, bound, &flag);
    napi_set_named_property(env, obj, "bound", flag);
    return obj;
}

/* ------------------------------------------------------- socket objects */

static void free_queue(struct paf_sock *s) {
    struct out_msg *m = s->head;
    while (m != NULL) {
        struct out_msg *next = m->next;
        free(m);
        m = next;
    }
    s->head = s->tail = NULL;
    s->queued = 0;
}

static void maybe_free(struct paf_sock *s) {
    if (s->finalized && s->poll_state == POLL_CLOSED) {
        s->magic = 0;
        free(s);
    }
}

static void on_poll_closed(uv_handle_t *handle) {
    struct paf_sock *s = handle->data;
    s->poll_state = POLL_CLOSED;
    maybe_free(s);
}

/* Packets dropped at most when a connection closes (the receive queue is far shorter). */
#define CLOSE_DRAIN_LIMIT 4096

/*
 * Makes the close of a connection an orderly one for the peer (docs/transports.md
 * §6): Linux reports ECONNRESET instead of an end of connection to the peer
 * of a SOCK_SEQPACKET socket closed with unread packets. Shutting down first
 * stops new packets (the peer's send fails with EPIPE) and lets the peer
 * read what was sent and then the end; the packets already queued are
 * dropped before the descriptor is closed.
 */
static void quiesce_connection(int fd) {
    shutdown(fd, SHUT_RDWR);
    for (int i = 0; i < CLOSE_DRAIN_LIMIT; i++) {
        if (recv(fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC) <= 0)
            break;
    }
}

/* Closes the descriptor and the poll handle; no JavaScript is touched. */
static void close_fd(struct paf_sock *s) {
    if (s->fd < 0)
        return;
    if (s->poll_state == POLL_OPEN) {
        uv_poll_stop(&s->poll);
        s->poll_events = 0;
    }
    if (s->kind == KIND_CONNECTION)
        quiesce_connection(s->fd);
    /* Linux releases the descriptor even when close() reports EINTR: never retry. */
    close(s->fd);
    s->fd = -1;
    if (s->poll_state == POLL_OPEN) {
        s->poll_state = POLL_CLOSING;
        uv_close((uv_handle_t *)&s->poll, on_poll_closed);
    }
    free_queue(s);
    s->want_read = false;
    s->done = true;
}

/* Full close from JavaScript: also drops the references that kept it alive. */
static void close_sock(napi_env env, struct paf_sock *s) {
    close_fd(s);
    if (s->callback != NULL) {
        napi_delete_reference(env, s->callback);
        s->callback = NULL;
    }
    if (s->self != NULL) {
        napi_delete_reference(env, s->self);
        s->self = NULL;
    }
}

static void finalize_sock(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    struct paf_sock *s = data;
    /* Only reached with an open socket at environment teardown. */
    close_fd(s);
    s->finalized = true;
    maybe_free(s);
}

static void update_poll(struct paf_sock *s);
static void on_poll(uv_poll_t *handle, int status, int events);

/* Wraps an open descriptor; on failure the descriptor is closed. */
static struct paf_sock *new_sock(napi_env env, struct env_state *st, int fd, enum sock_kind kind, napi_value *external) {
    struct paf_sock *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        throw_errno(env, "malloc", ENOMEM, NULL);
        return NULL;
    }
    s->magic = SOCK_MAGIC;
    s->env = env;
    s->st = st;
    s->fd = fd;
    s->kind = kind;
    s->queue_limit = DEFAULT_QUEUE_LIMIT;
    int rc = uv_poll_init(st->loop, &s->poll, fd);
    if (rc < 0) {
        close(fd);
        free(s);
        throw_errno(env, "uv_poll_init", -rc, NULL);
        return NULL;
    }
    s->poll.data = s;
    s->poll_state = POLL_OPEN;
    if (napi_create_external(env, s, finalize_sock, NULL, external) != napi_ok) {
        /* Nothing will finalize it: the poll close callback frees the memory. */
        close_fd(s);
        s->finalized = true;
        napi_throw_error(env, NULL, "cannot wrap socket");
        return NULL;
    }
    if (napi_create_reference(env, *external, 1, &s->self) != napi_ok) {
        /* The external's finalizer frees the memory once both are done. */
        close_fd(s);
        napi_throw_error(env, NULL, "cannot reference socket");
        return NULL;
    }
    return s;
}

static struct paf_sock *get_sock(napi_env env, napi_value value) {
    napi_valuetype type;
    void *data = NULL;
    if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
        napi_get_value_external(env, value, &data) != napi_ok || data == NULL ||
        ((struct paf_sock *)data)->magic != SOCK_MAGIC) {
        throw_type(env, "expected a paf_native socket handle");
        return NULL;
    }
    return data;
}

static void set_int_option(int fd, int level, int name, int value) {
    /* Best effort, as in XCM: a refused option leaves the default in force. */
    (void)setsockopt(fd, level, name, &value, sizeof value);
}

/* XCM sets SO_PASSCRED, which also makes the kernel auto-bind an unbound
 * client to a 5-hex-digit abstract name: that is what servers report. */
static void configure_connection(int fd) {
    set_int_option(fd, SOL_SOCKET, SO_PASSCRED, 1);
    set_int_option(fd, SOL_SOCKET, SO_SNDBUF, SEND_BUFFER_SIZE);
}

/* --------------------------------------------------------------- events */

/* Calls the socket's JavaScript callback; a throwing callback becomes an
 * uncaught exception, as it would for any Node event emitter. */
static void emit(struct paf_sock *s, enum event ev, napi_value value) {
    napi_env env = s->env;
    napi_value cb, argv[2], recv;
    if (s->callback == NULL || napi_get_reference_value(env, s->callback, &cb) != napi_ok || cb == NULL)
        return;
    napi_create_int32(env, ev, &argv[0]);
    if (value == NULL)
        napi_get_undefined(env, &argv[1]);
    else
        argv[1] = value;
    napi_get_undefined(env, &recv);
    if (napi_call_function(env, recv, cb, 2, argv, NULL) == napi_pending_exception) {
        napi_value exception;
        if (napi_get_and_clear_last_exception(env, &exception) == napi_ok)
            napi_fatal_exception(env, exception);
    }
}

static void emit_error(struct paf_sock *s, const char *syscall, int err, const char *detail) {
    napi_value error = make_error(s->env, syscall, err, detail);
    emit(s, EV_ERROR, error);
}

/* A connection that failed or ended stops polling; JavaScript closes it. */
static void mark_done(struct paf_sock *s) {
    s->done = true;
    s->want_read = false;
    free_queue(s);
}

/* ---------------------------------------------------------------- output */

/* Hands queued messages to the kernel. Returns 0 or the errno that broke
 * the connection; stops quietly when the kernel buffer is full. */
static int flush(struct paf_sock *s) {
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    while (s->head != NULL && s->fd >= 0) {
        unsigned count = 0;
        for (struct out_msg *m = s->head; m != NULL && count < SEND_BATCH; m = m->next, count++) {
            iov[count].iov_base = m->data;
            iov[count].iov_len = m->len;
            memset(&msgs[count], 0, sizeof msgs[count]);
            msgs[count].msg_hdr.msg_iov = &iov[count];
            msgs[count].msg_hdr.msg_iovlen = 1;
        }
        int sent = sendmmsg(s->fd, msgs, count, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return errno;
        }
        /* A packet goes out whole or not at all. */
        for (int i = 0; i < sent; i++) {
            struct out_msg *m = s->head;
            s->head = m->next;
            s->queued -= m->len;
            free(m);
        }
        if (s->head == NULL)
            s->tail = NULL;
        if ((unsigned)sent < count)
            return 0; /* the kernel took what fits; wait for writability */
    }
    return 0;
}

/* --------------------------------------------------------------- input */

static void read_ready(struct paf_sock *s) {
    napi_env env = s->env;
    char *buf = s->st->rbuf;
    for (int i = 0; i < RECEIVES_PER_EVENT && s->fd >= 0 && s->want_read; i++) {
        ssize_t n = recv(s->fd, buf, MAX_MESSAGE, MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            int err = errno;
            mark_done(s);
            emit_error(s, "recv", err, NULL);
            return;
        }
        if (n == 0 && s->kind == KIND_CONNECTION) {
            /* A zero-length packet cannot be told from end-of-connection (docs/transports.md §2). */
            mark_done(s);
            emit(s, EV_END, NULL);
            return;
        }
        if (n > MAX_MESSAGE) {
            char detail[96];
            snprintf(detail, sizeof detail, "received a message of %zd bytes, more than the %d byte limit", n, MAX_MESSAGE);
            if (s->kind == KIND_CONNECTION)
                mark_done(s);
            emit_error(s, "recv", EMSGSIZE, detail);
            if (s->kind == KIND_CONNECTION)
                return;
            continue;
        }
        napi_handle_scope scope;
        if (napi_open_handle_scope(env, &scope) != napi_ok)
            return;
        napi_value message;
        if (napi_create_buffer_copy(env, (size_t)n, buf, NULL, &message) == napi_ok)
            emit(s, EV_MESSAGE, message);
        napi_close_handle_scope(env, scope);
    }
}

static void accept_ready(struct paf_sock *s) {
    napi_env env = s->env;
    for (int i = 0; i < ACCEPTS_PER_EVENT && s->fd >= 0 && s->want_read; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if ((err == EMFILE || err == ENFILE) && s->st->reserve_fd >= 0) {
                /* Out of descriptors (ours or the system's): take the waiting
                 * connection with the reserve and drop it, or the
                 * level-triggered poll would spin. Any other error (ENOMEM,
                 * ENOBUFS) goes to JavaScript, which stops accepting for a
                 * moment (src/transport/accept-guard.ts). */
                close(s->st->reserve_fd);
                s->st->reserve_fd = -1;
                int shed = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                if (shed >= 0)
                    close(shed);
                s->st->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            }
            emit_error(s, "accept", err, NULL);
            return;
        }
        configure_connection(fd);
        napi_handle_scope scope;
        if (napi_open_handle_scope(env, &scope) != napi_ok) {
            close(fd);
            return;
        }
        napi_value external;
        struct paf_sock *c = new_sock(env, s->st, fd, KIND_CONNECTION, &external);
        if (c != NULL) {
            emit(s, EV_ACCEPT, external);
        } else {
            napi_value exception;
            napi_get_and_clear_last_exception(env, &exception);
            emit(s, EV_ERROR, exception);
        }
        napi_close_handle_scope(env, scope);
    }
}

/* --------------------------------------------------------------- polling */

static void update_poll(struct paf_sock *s) {
    if (s->fd < 0 || s->poll_state != POLL_OPEN)
        return;
    int events = 0;
    if (!s->done) {
        if (s->want_read)
            events |= UV_READABLE;
        if (s->head != NULL)
            events |= UV_WRITABLE;
    }
    if (events == s->poll_events)
        return;
    if (events == 0) {
        uv_poll_stop(&s->poll);
    } else if (uv_poll_start(&s->poll, events, on_poll) < 0) {
        /* Cannot happen for an open socket; never leave it half-watched. */
        uv_poll_stop(&s->poll);
        events = 0;
    }
    s->poll_events = events;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
    struct paf_sock *s = handle->data;
    napi_env env = s->env;
    napi_handle_scope scope;
    napi_callback_scope callback_scope = NULL;
    napi_value resource;
    if (napi_open_handle_scope(env, &scope) != napi_ok)
        return;
    if (napi_get_reference_value(env, s->st->resource, &resource) == napi_ok)
        napi_open_callback_scope(env, resource, s->st->async, &callback_scope);

    if (status < 0) {
        /* libuv stopped the handle; the socket's own error is more telling. */
        int err = -status, soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0)
            err = soerr;
        s->poll_events = 0;
        if (s->kind != KIND_LISTENER)
            mark_done(s);
        emit_error(s, "poll", err, NULL);
    } else {
        if ((events & UV_WRITABLE) && s->fd >= 0 && s->head != NULL) {
            int err = flush(s);
            if (err != 0) {
                mark_done(s);
                emit_error(s, "send", err, NULL);
            } else if (s->head == NULL) {
                emit(s, EV_DRAIN, NULL);
            }
        }
        if ((events & UV_READABLE) && s->fd >= 0 && s->want_read) {
            if (s->kind == KIND_LISTENER)
                accept_ready(s);
            else
                read_ready(s);
        }
    }
    update_poll(s);

    /* Runs queued ticks and microtasks, which may close or free nothing of
     * ours: memory is released only from the poll handle's close callback. */
    if (callback_scope != NULL)
        napi_close_callback_scope(env, callback_scope);
    napi_close_handle_scope(env, scope);
}

/* ------------------------------------------------------- JS functions */

#define GET_ARGS(n)                                                          \
    size_t argc = (n);                                                       \
    napi_value argv[(n) > 0 ? (n) : 1];                                      \
    struct env_state *st = NULL;                                             \
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&st) != napi_ok) \
        return NULL;                                                         \
    (void)st

/* Reads (name: string, abstract: boolean) into a socket address. */
static bool get_address(napi_env env, napi_value name_arg, napi_value abstract_arg, struct sockaddr_un *sun, socklen_t *addrlen, const char *syscall) {
    char name[sizeof sun->sun_path + 1];
    size_t len = 0;
    bool abstract;
    if (!get_name(env, name_arg, name, sizeof name, &len) || !get_bool(env, abstract_arg, &abstract)) {
        throw_type(env, "expected (name: string, abstract: boolean)");
        return false;
    }
    int err = make_address(name, len, abstract, sun, addrlen);
    if (err != 0) {
        throw_errno(env, syscall, err, len == 0 ? "empty socket name" : "socket name too long or contains NUL");
        return false;
    }
    return true;
}

/* listen(name, abstract): handle. Binds and listens with backlog LISTEN_BACKLOG. */
static napi_value js_listen(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    struct sockaddr_un sun;
    socklen_t addrlen;
    napi_value external;
    if (argc < 2 || !get_address(env, argv[0], argv[1], &sun, &addrlen, "bind"))
        return NULL;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return throw_errno(env, "socket", errno, NULL);
    set_int_option(fd, SOL_SOCKET, SO_PASSCRED, 1);
    if (bind(fd, (struct sockaddr *)&sun, addrlen) < 0)
        return close_and_throw(env, fd, "bind");
    if (listen(fd, LISTEN_BACKLOG) < 0)
        return close_and_throw(env, fd, "listen");
    if (new_sock(env, st, fd, KIND_LISTENER, &external) == NULL)
        return NULL;
    return external;
}

/* connect(name, abstract): handle. Non-blocking; a UNIX connect completes
 * at once or fails (ECONNREFUSED, ENOENT, EAGAIN when the backlog is full). */
static napi_value js_connect(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    struct sockaddr_un sun;
    socklen_t addrlen;
    napi_value external;
    if (argc < 2 || !get_address(env, argv[0], argv[1], &sun, &addrlen, "connect"))
        return NULL;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return throw_errno(env, "socket", errno, NULL);
    configure_connection(fd);
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sun, addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return close_and_throw(env, fd, "connect");
    if (new_sock(env, st, fd, KIND_CONNECTION, &external) == NULL)
        return NULL;
    return external;
}

/* bindDatagram(name, abstract): handle. A SOCK_DGRAM receiver (message events). */
static napi_value js_bind_datagram(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    struct sockaddr_un sun;
    socklen_t addrlen;
    napi_value external;
    if (argc < 2 || !get_address(env, argv[0], argv[1], &sun, &addrlen, "bind"))
        return NULL;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return throw_errno(env, "socket", errno, NULL);
    if (bind(fd, (struct sockaddr *)&sun, addrlen) < 0)
        return close_and_throw(env, fd, "bind");
    if (new_sock(env, st, fd, KIND_DATAGRAM, &external) == NULL)
        return NULL;
    return external;
}

/* setCallback(handle, fn | null) */
static napi_value js_set_callback(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    napi_valuetype type = napi_undefined;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (argc >= 2)
        napi_typeof(env, argv[1], &type);
    if (type != napi_function && type != napi_null && type != napi_undefined)
        return throw_type(env, "callback must be a function or null");
    if (s->callback != NULL) {
        napi_delete_reference(env, s->callback);
        s->callback = NULL;
    }
    if (type == napi_function && s->fd >= 0)
        napi_create_reference(env, argv[1], 1, &s->callback);
    return NULL;
}

/* setReading(handle, on): accept (listener) or receive only while on. */
static napi_value js_set_reading(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    bool on;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (argc < 2 || !get_bool(env, argv[1], &on))
        return throw_type(env, "expected a boolean");
    s->want_read = on && !s->done;
    update_poll(s);
    return NULL;
}

/* Copies one JavaScript string or Buffer into a queue node. */
static struct out_msg *copy_message(napi_env env, napi_value value, int *err) {
    napi_valuetype type;
    bool is_buffer = false;
    size_t len;
    struct out_msg *m;
    *err = 0;
    if (napi_typeof(env, value, &type) != napi_ok)
        return NULL;
    if (type == napi_string) {
        if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok)
            return NULL;
        if (len == 0 || len > MAX_MESSAGE) {
            *err = len == 0 ? EINVAL : EMSGSIZE;
            return NULL;
        }
        /* napi writes a terminating NUL, which is not sent. */
        m = malloc(sizeof *m + len + 1);
        if (m == NULL) {
            *err = ENOMEM;
            return NULL;
        }
        napi_get_value_string_utf8(env, value, m->data, len + 1, &m->len);
        m->next = NULL;
        return m;
    }
    napi_is_buffer(env, value, &is_buffer);
    if (is_buffer) {
        void *data;
        if (napi_get_buffer_info(env, value, &data, &len) != napi_ok)
            return NULL;
        if (len == 0 || len > MAX_MESSAGE) {
            *err = len == 0 ? EINVAL : EMSGSIZE;
            return NULL;
        }
        m = malloc(sizeof *m + len);
        if (m == NULL) {
            *err = ENOMEM;
            return NULL;
        }
        memcpy(m->data, data, len);
        m->len = len;
        m->next = NULL;
        return m;
    }
    return NULL;
}

/*
 * send(handle, message | message[]): number of bytes still queued. Each
 * message (string or Buffer, 1..262144 bytes) is one packet. What the
 * kernel does not take at once is queued and sent when the socket becomes
 * writable. Throws EMSGSIZE/EINVAL for a bad message (nothing is sent),
 * ENOBUFS when already-queued output would pass the queue limit, and the
 * send error (EPIPE, ECONNRESET, ...) when the connection is broken.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    bool is_array = false;
    uint32_t count = 1;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (argc < 2)
        return throw_type(env, "expected a message");
    if (s->fd < 0 || s->kind != KIND_CONNECTION)
        return throw_errno(env, "send", s->fd < 0 ? EBADF : ENOTCONN, NULL);
    if (s->done)
        return throw_errno(env, "send", EPIPE, "connection already ended");
    napi_is_array(env, argv[1], &is_array);
    if (is_array && napi_get_array_length(env, argv[1], &count) != napi_ok)
        return NULL;

    struct out_msg *first = NULL, *last = NULL;
    size_t bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        napi_value item = argv[1];
        int err;
        if (is_array && napi_get_element(env, argv[1], i, &item) != napi_ok)
            goto fail;
        struct out_msg *m = copy_message(env, item, &err);
        if (m == NULL) {
            if (err != 0)
                throw_errno(env, "send", err, err == EMSGSIZE ? "message longer than 262144 bytes" : err == EINVAL ? "empty message" : NULL);
            else
                throw_type(env, "messages must be strings or Buffers");
            goto fail;
        }
        if (last != NULL)
            last->next = m;
        else
            first = m;
        last = m;
        bytes += m->len;
    }
    if (first == NULL)
        goto done;
    if (s->head != NULL && s->queued + bytes > s->queue_limit) {
        throw_errno(env, "send", ENOBUFS, "output queue limit reached");
        goto fail;
    }
    bool was_empty = s->head == NULL;
    if (s->tail != NULL)
        s->tail->next = first;
    else
        s->head = first;
    s->tail = last;
    s->queued += bytes;
    if (was_empty) {
        int err = flush(s);
        if (err != 0) {
            mark_done(s);
            update_poll(s);
            return throw_errno(env, "send", err, NULL);
        }
        update_poll(s);
    }
done : {
    napi_value result;
    napi_create_double(env, (double)s->queued, &result);
    return result;
}
fail:
    while (first != NULL) {
        struct out_msg *next = first->next;
        free(first);
        first = next;
    }
    return NULL;
}

/* queued(handle): bytes waiting for the kernel to take them. */
static napi_value js_queued(napi_env env, napi_callback_info info) {
    GET_ARGS(1);
    napi_value result;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    napi_create_double(env, (double)s->queued, &result);
    return result;
}

/* setQueueLimit(handle, bytes) */
static napi_value js_set_queue_limit(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    double limit;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (argc < 2 || napi_get_value_double(env, argv[1], &limit) != napi_ok || !(limit >= 0))
        return throw_type(env, "expected a byte count");
    s->queue_limit = limit > (double)SIZE_MAX ? SIZE_MAX : (size_t)limit;
    return NULL;
}

/* setRef(handle, on): whether the socket keeps the event loop alive. */
static napi_value js_set_ref(napi_env env, napi_callback_info info) {
    GET_ARGS(2);
    bool on;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (argc < 2 || !get_bool(env, argv[1], &on))
        return throw_type(env, "expected a boolean");
    if (s->poll_state == POLL_OPEN) {
        if (on)
            uv_ref((uv_handle_t *)&s->poll);
        else
            uv_unref((uv_handle_t *)&s->poll);
    }
    return NULL;
}

/* peer(handle): {pid, uid, gid, name, abstract, bound} of the connected peer. */
static napi_value js_peer(napi_env env, napi_callback_info info) {
    GET_ARGS(1);
    struct ucred cred;
    socklen_t len = sizeof cred;
    struct sockaddr_un sun;
    socklen_t addrlen = sizeof sun;
    napi_value obj, value;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (s->fd < 0)
        return throw_errno(env, "getpeername", EBADF, NULL);
    if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return throw_errno(env, "getsockopt", errno, NULL);
    memset(&sun, 0, sizeof sun);
    if (getpeername(s->fd, (struct sockaddr *)&sun, &addrlen) < 0)
        return throw_errno(env, "getpeername", errno, NULL);
    obj = name_object(env, &sun, addrlen);
    if (obj == NULL)
        return NULL;
    napi_create_int64(env, cred.pid, &value);
    napi_set_named_property(env, obj, "pid", value);
    napi_create_int64(env, cred.uid, &value);
    napi_set_named_property(env, obj, "uid", value);
    napi_create_int64(env, cred.gid, &value);
    napi_set_named_property(env, obj, "gid", value);
    return obj;
}

/* local(handle): {name, abstract, bound} of our own end (an auto-bound
 * client shows its kernel-chosen name here). */
static napi_value js_local(napi_env env, napi_callback_info info) {
    GET_ARGS(1);
    struct sockaddr_un sun;
    socklen_t addrlen = sizeof sun;
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    if (s->fd < 0)
        return throw_errno(env, "getsockname", EBADF, NULL);
    memset(&sun, 0, sizeof sun);
    if (getsockname(s->fd, (struct sockaddr *)&sun, &addrlen) < 0)
        return throw_errno(env, "getsockname", errno, NULL);
    return name_object(env, &sun, addrlen);
}

/* close(handle): idempotent; pending output is dropped. */
static napi_value js_close(napi_env env, napi_callback_info info) {
    GET_ARGS(1);
    struct paf_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
    if (s == NULL)
        return NULL;
    close_sock(env, s);
    return NULL;
}

/*
 * sendto(name, abstract, data): null on success, else the errno name.
 * One datagram to a UNIX datagram socket (syslog's /dev/log, systemd's
 * NOTIFY_SOCKET); synchronous, never blocks, never throws for I/O errors.
 */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
    GET_ARGS(3);
    struct sockaddr_un sun;
    socklen_t addrlen;
    napi_value result;
    char code[64];
    int err = 0;
    if (argc < 3 || !get_address(env, argv[0], argv[1], &sun, &addrlen, "sendto"))
        return NULL;
    struct out_msg *m = copy_message(env, argv[2], &err);
    if (m == NULL && err == 0)
        return throw_type(env, "data must be a string or Buffer");
    if (m != NULL) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
        } else {
            ssize_t rc;
            do
                rc = sendto(fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, addrlen);
            while (rc < 0 && errno == EINTR);
            if (rc < 0)
                err = errno;
            close(fd);
        }
        free(m);
    }
    if (err == 0) {
        napi_get_null(env, &result);
        return result;
    }
    errno_name(err, code, sizeof code);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &result);
    return result;
}

/* ---------------------------------------------------------------- module */

static void finalize_state(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    struct env_state *st = data;
    if (st->reserve_fd >= 0)
        close(st->reserve_fd);
    /* The async context and resource reference die with the environment. */
    free(st);
}

/* trimHeap(): true if freed heap memory was handed back to the system.
 * glibc keeps what a program frees for reuse; after pafd drops a client
 * with tens of MiB of queued output that memory would stay resident.
 * Other C libraries: false, nothing done. */
static napi_value js_trim_heap(napi_env env, napi_callback_info info) {
    napi_value result;
    bool trimmed = false;
    (void)info;
#ifdef __GLIBC__
    trimmed = malloc_trim(0) != 0;
#endif
    if (napi_get_boolean(env, trimmed, &result) != napi_ok)
        return NULL;
    return result;
}

static bool add_function(napi_env env, napi_value exports, struct env_state *st, const char *name, napi_callback fn) {
    napi_value value;
    return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, st, &value) == napi_ok &&
           napi_set_named_property(env, exports, name, value) == napi_ok;
}

static bool add_int(napi_env env, napi_value obj, const char *name, int32_t v) {
    napi_value value;
    return napi_create_int32(env, v, &value) == napi_ok && napi_set_named_property(env, obj, name, value) == napi_ok;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
    struct env_state *st = malloc(sizeof *st);
    napi_value resource, name, events;
    if (st == NULL) {
        napi_throw_error(env, NULL, "paf_native: out of memory");
        return NULL;
    }
    st->reserve_fd = -1;
    st->resource = NULL;
    if (napi_get_uv_event_loop(env, &st->loop) != napi_ok ||
        napi_create_object(env, &resource) != napi_ok ||
        napi_create_reference(env, resource, 1, &st->resource) != napi_ok ||
        napi_create_string_utf8(env, "PafUnixSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, resource, name, &st->async) != napi_ok ||
        napi_set_instance_data(env, st, finalize_state, NULL) != napi_ok) {
        free(st);
        napi_throw_error(env, NULL, "paf_native: initialisation failed");
        return NULL;
    }
    st->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (!add_int(env, exports, "abi", ADDON_ABI) ||
        !add_int(env, exports, "maxMessage", MAX_MESSAGE) ||
        napi_create_object(env, &events) != napi_ok ||
        !add_int(env, events, "MESSAGE", EV_MESSAGE) ||
        !add_int(env, events, "END", EV_END) ||
        !add_int(env, events, "ERROR", EV_ERROR) ||
        !add_int(env, events, "DRAIN", EV_DRAIN) ||
        !add_int(env, events, "ACCEPT", EV_ACCEPT) ||
        napi_set_named_property(env, exports, "events", events) != napi_ok ||
        !add_function(env, exports, st, "listen", js_listen) ||
        !add_function(env, exports, st, "connect", js_connect) ||
        !add_function(env, exports, st, "bindDatagram", js_bind_datagram) ||
        !add_function(env, exports, st, "setCallback", js_set_callback) ||
        !add_function(env, exports, st, "setReading", js_set_reading) ||
        !add_function(env, exports, st, "send", js_send) ||
        !add_function(env, exports, st, "queued", js_queued) ||
        !add_function(env, exports, st, "setQueueLimit", js_set_queue_limit) ||
        !add_function(env, exports, st, "setRef", js_set_ref) ||
        !add_function(env, exports, st, "peer", js_peer) ||
        !add_function(env, exports, st, "local", js_local) ||
        !add_function(env, exports, st, "close", js_close) ||
        !add_function(env, exports, st, "sendto", js_sendto) ||
        !add_function(env, exports, st, "trimHeap", js_trim_heap))
        return NULL;
    return exports;
}
