/*  dn_benchkit -- what the many-site benchmarks share (see dn_benchkit.h).  */
#include "dn_benchkit.h"

#include "dn_central.h"
#include "dn_db.h"
#include "dn_server.h" /* DN_HQ_KEY_FILE */
#include "dn_time.h"
#include "dn_wire.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

double dn_bk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pid_t dn_bk_server_start(const char *bin, const char *dir, const char *log)
{
    char server_bin[4096];
    pid_t pid;
    snprintf(server_bin, sizeof server_bin, "%s/dealernet-server", bin);
    pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stderr))
            _exit(126);
        execl(server_bin, server_bin, "-d", dir, "run", (char *)NULL);
        _exit(127);
    }
    return pid;
}

pid_t dn_bk_hq_start(const char *bin, const char *dir, const char *admin_ep,
                     const char *server_key, const char *out, const char *err,
                     const char *const *args)
{
    char hq[4096], hq_key[4096];
    char *argv[32];
    posix_spawn_file_actions_t files;
    size_t n = 0;
    pid_t pid;
    int rc;
    snprintf(hq, sizeof hq, "%s/dealernet-hq", bin);
    snprintf(hq_key, sizeof hq_key, "%s/%s", dir, DN_HQ_KEY_FILE);
    /* posix_spawn takes char *const argv[]; it does not write them */
    argv[n++] = hq;
    argv[n++] = (char *)"--server";
    argv[n++] = (char *)admin_ep;
    argv[n++] = (char *)"--server-key";
    argv[n++] = (char *)server_key;
    argv[n++] = (char *)"--key";
    argv[n++] = hq_key;
    for (size_t i = 0; args[i]; i++) {
        if (n + 1 >= sizeof argv / sizeof *argv)
            return -1;
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    if (posix_spawn_file_actions_init(&files) != 0)
        return -1;
    rc = posix_spawn_file_actions_addopen(&files, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                          0600);
    if (rc == 0)
        rc = err ? posix_spawn_file_actions_addopen(&files, 2, err,
                                                    O_WRONLY | O_CREAT | O_TRUNC, 0600)
                 : posix_spawn_file_actions_adddup2(&files, 1, 2);
    if (rc == 0)
        rc = posix_spawn(&pid, hq, &files, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&files);
    return rc == 0 ? pid : -1;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void dn_bk_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, s_cmp_double);
}

double dn_bk_percentile(const double *sorted, size_t n, int p)
{
    size_t rank = ((size_t)p * n + 99) / 100; /* ceil(p x n / 100) */
    return sorted[rank > 0 ? rank - 1 : 0];
}

long dn_bk_peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

double dn_bk_cpu_s(pid_t pid)
{
    char path[64], text[1024], *end;
    unsigned long long utime, stime;
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* the command may hold spaces and ')': fields 14 and 15 count from
       the last ')' (field 3 is the first after it) */
    if (!(end = strrchr(text, ')')) ||
        sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

int dn_bk_files(long files)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)files) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)files
                          ? rl.rlim_max
                          : (rlim_t)files;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)files ? 0 : -1;
}

void *dn_bk_dealer(void *ctx, const char *server_key, const dn_curve_pair_t *pair,
                   const char *sync_ep, int net, int n)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    char from[300];
    int zero = 0;
    if (!sock)
        return NULL;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, 40);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    snprintf(from, sizeof from, "tcp://127.0.%d.%d:0;%s", net + n / DN_BK_ADDRS_PER_NET,
             1 + n % DN_BK_ADDRS_PER_NET, sync_ep + strlen("tcp://"));
    if (zmq_connect(sock, from) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

int dn_bk_hello(void *sock, uint32_t protocol, uint64_t pending, uint64_t head_seq)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    uint8_t *buf;
    size_t len;
    char why[DN_WHY_SIZE];
    int rc;
    hello.has_protocol = hello.has_pending = hello.has_clock_ms = hello.has_head_seq = 1;
    hello.protocol = protocol;
    hello.pending = pending;
    hello.clock_ms = dn_time_now_ms();
    hello.head_seq = head_seq;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    if (dn_wire_sync_pack(&msg, &buf, &len, why, sizeof why))
        return -1;
    rc = zmq_send(sock, buf, len, 0) == (int)len ? 0 : -1;
    free(buf);
    return rc;
}

int dn_bk_poll(zmq_pollitem_t *items, int n, void *(*waiting)(void *arg, int i),
               void (*reply)(void *arg, int i, const Dealernet__SyncMessage *msg, size_t len),
               void *arg, long timeout_ms)
{
    int got = 0;
    for (int i = 0; i < n; i++) {
        items[i].socket = waiting(arg, i);
        items[i].fd = -1; /* poll() passes over a negative descriptor */
        items[i].events = items[i].socket ? ZMQ_POLLIN : 0;
    }
    if (zmq_poll(items, n, timeout_ms) <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        Dealernet__SyncMessage *msg = NULL;
        zmq_msg_t frame;
        char why[DN_WHY_SIZE];
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, items[i].socket, ZMQ_DONTWAIT) >= 0) {
            size_t len = zmq_msg_size(&frame);
            if (dn_wire_sync_unpack(zmq_msg_data(&frame), len, &msg, why, sizeof why) == 0) {
                reply(arg, i, msg, len);
                dn_wire_sync_free(&msg);
                got++;
            } else {
                fprintf(stderr, "a reply does not decode: %s\n", why);
            }
        }
        zmq_msg_close(&frame);
    }
    return got;
}

int64_t dn_bk_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t count = -1;
    if (dn_db_prepare(db, sql, &stmt) == 0 && sqlite3_step(stmt) == SQLITE_ROW)
        count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return count;
}

int64_t dn_bk_events_stored(const char *dir)
{
    sqlite3 *db;
    int64_t count;
    if (dn_central_open(dir, 0, &db) != 0)
        return -1;
    count = dn_bk_count(db, "SELECT count(*) FROM events");
    sqlite3_close(db);
    return count;
}
