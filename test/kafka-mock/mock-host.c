/*
 * A librdkafka mock Kafka cluster for the wire tests of the Kafka EventLog adapter.
 *
 *   mock-host [--brokers N] topic:partitions ...
 *
 * Creates the cluster (listeners on 127.0.0.1, random ports), creates each topic (the mock does
 * not support the CreateTopics API, so tests pre-create theirs here), prints the bootstrap
 * address on one line of stdout, then serves until stdin closes (the parent exits or ends it).
 * Exit codes: 0 after stdin closed, 2 bad arguments, 3 cluster or topic set-up failed.
 */
#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* name:partitions, with a legal Kafka topic name ([A-Za-z0-9._-]{1,249}) and 1..10000 partitions. */
static int parse_topic(const char *spec, char *name, size_t name_size, int *partitions) {
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec || (size_t)(colon - spec) >= name_size || colon - spec > 249) return -1;
  for (const char *c = spec; c < colon; c++) {
    if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') return -1;
  }
  char *end = NULL;
  errno = 0;
  long n = strtol(colon + 1, &end, 10);
  if (errno != 0 || end == colon + 1 || *end != '\0' || n < 1 || n > 10000) return -1;
  memcpy(name, spec, (size_t)(colon - spec));
  name[colon - spec] = '\0';
  *partitions = (int)n;
  return 0;
}

int main(int argc, char **argv) {
  int broker_cnt = 1;
  int first_topic = 1;
  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    broker_cnt = atoi(argv[2]);
    if (broker_cnt < 1 || broker_cnt > 9) {
      fprintf(stderr, "mock-host: --brokers must be 1..9\n");
      return 2;
    }
    first_topic = 3;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster; it never produces. Keep it quiet. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock-host: %s\n", errstr);
    return 3;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "mock-host: rd_kafka_new: %s\n", errstr);
    return 3;
  }
  /* Mock brokers listen on the loopback interface only (librdkafka binds them to 127.0.0.1). */
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, broker_cnt);
  if (mc == NULL) {
    fprintf(stderr, "mock-host: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 3;
  }

  int status = 0;
  for (int i = first_topic; i < argc && status == 0; i++) {
    char name[256];
    int partitions = 0;
    if (parse_topic(argv[i], name, sizeof(name), &partitions) != 0) {
      fprintf(stderr, "mock-host: bad topic spec %s (expected name:partitions)\n", argv[i]);
      status = 2;
      break;
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "mock-host: creating %s: %s\n", name, rd_kafka_err2str(err));
      status = 3;
    }
  }

  if (status == 0) {
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    /* Serve until the parent closes our stdin (or dies, which closes it too). */
    char buf[256];
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    }
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
