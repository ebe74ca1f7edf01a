/*
 * vector_check.c - test harness for the C reference encoder (firmware_protocol/c/).
 *
 * Built and run by tests/test_c_encoder.py; it reads no files. The test generates
 * "vectors_gen.inc" from firmware_protocol/vectors/vectors.json: it defines
 *     static const vc_vector vc_vectors[];   and   #define VC_N_VECTORS n
 * with the decoded fields of every golden vector baked in as C arrays. This program encodes
 * each one and prints lines that the test parses:
 *
 *     frame <name> <hex>                   the frame bytes (header + body + CRC)
 *     wire <name> <hex>                    COBS + 0x00 delimiter
 *     crc_check <decimal>                  ip_crc16("123456789")
 *     check <label> <got> <expected>       one assertion; the test requires got == expected
 *
 * Buffers are surrounded by guard bytes so that a write past out_size is detected.
 */
#include <stdio.h>
#include <string.h>

#include "insole_proto.h"

typedef struct vc_vector {
    const char *name;
    unsigned frame_type;
    ip_header hdr;
    /* SAMPLES */
    uint16_t sample_rate_hz;
    uint8_t n_sensors;
    uint8_t n_samples;
    const uint16_t *counts;
    const int16_t *imu; /* NULL: no IMU block */
    /* DEVICE_INFO */
    ip_device_info info;
    /* STATUS */
    uint8_t battery_pct;
    uint16_t error_flags;
    uint16_t frames_dropped;
} vc_vector;

typedef struct vc_command {
    const char *name;
    const uint8_t *wire; /* serial: COBS + 0x00 */
    size_t wire_len;
    const uint8_t *payload; /* BLE control write */
    size_t payload_len;
    unsigned opcode;
    unsigned value;
} vc_command;

#include "vectors_gen.inc"

#define GUARD 0xA5u
#define BUF_LEN (IP_MAX_WIRE_LEN + 64u)

static uint8_t frame_buf[BUF_LEN];
static uint8_t wire_buf[BUF_LEN];

static void check(const char *label, const char *name, long got, long expected)
{
    printf("check %s:%s %ld %ld\n", label, name, got, expected);
}

static void print_hex(const char *kind, const char *name, const uint8_t *data, int len)
{
    int i;

    printf("%s %s ", kind, name);
    for (i = 0; i < len; i++) {
        printf("%02x", (unsigned)data[i]);
    }
    printf("\n");
}

/* Number of bytes at or after index from that are no longer GUARD. */
static long guard_damage(const uint8_t *buf, size_t from)
{
    long damaged = 0;
    size_t i;

    for (i = from; i < BUF_LEN; i++) {
        if (buf[i] != GUARD) {
            damaged++;
        }
    }
    return damaged;
}

static int encode(const vc_vector *v, uint8_t *out, size_t out_size)
{
    switch (v->frame_type) {
    case IP_FRAME_SAMPLES:
        return ip_encode_samples(&v->hdr, v->sample_rate_hz, v->n_sensors, v->n_samples,
                                 v->counts, v->imu, out, out_size);
    case IP_FRAME_DEVICE_INFO:
        return ip_encode_device_info(&v->hdr, &v->info, out, out_size);
    case IP_FRAME_STATUS:
        return ip_encode_status(&v->hdr, v->battery_pct, v->error_flags, v->frames_dropped,
                                out, out_size);
    default:
        return IP_ERR_BAD_ARGUMENT;
    }
}

/* Encode one vector, print it, and try every buffer size below the needed one. */
static void run_vector(const vc_vector *v)
{
    int frame_len;
    int wire_len;
    size_t size;
    long wrong_rc = 0;
    long overruns = 0;

    memset(frame_buf, GUARD, sizeof frame_buf);
    memset(wire_buf, GUARD, sizeof wire_buf);
    frame_len = encode(v, frame_buf, BUF_LEN);
    if (frame_len <= 0) {
        check("encode_rc", v->name, frame_len, 1);
        return;
    }
    wire_len = ip_cobs_encode(frame_buf, (size_t)frame_len, wire_buf, BUF_LEN);
    if (wire_len <= 0) {
        check("cobs_rc", v->name, wire_len, 1);
        return;
    }
    print_hex("frame", v->name, frame_buf, frame_len);
    print_hex("wire", v->name, wire_buf, wire_len);
    check("frame_guard", v->name, guard_damage(frame_buf, (size_t)frame_len), 0);
    check("wire_guard", v->name, guard_damage(wire_buf, (size_t)wire_len), 0);
    check("wire_within_bound", v->name,
          (long)((size_t)wire_len <= IP_COBS_MAX_LEN((size_t)frame_len)), 1);

    /* One byte too small, reported on its own ... */
    memset(wire_buf, GUARD, sizeof wire_buf);
    check("too_small_frame", v->name, encode(v, wire_buf, (size_t)frame_len - 1u),
          IP_ERR_BUFFER_TOO_SMALL);
    memset(wire_buf, GUARD, sizeof wire_buf);
    check("too_small_wire", v->name,
          ip_cobs_encode(frame_buf, (size_t)frame_len, wire_buf, (size_t)wire_len - 1u),
          IP_ERR_BUFFER_TOO_SMALL);

    /* ... and every smaller size: always the error, never a write at or past out_size. */
    for (size = 0u; size < (size_t)frame_len; size++) {
        memset(wire_buf, GUARD, sizeof wire_buf);
        wrong_rc += encode(v, wire_buf, size) != IP_ERR_BUFFER_TOO_SMALL;
        overruns += guard_damage(wire_buf, size) != 0;
    }
    for (size = 0u; size < (size_t)wire_len; size++) {
        memset(wire_buf, GUARD, sizeof wire_buf);
        wrong_rc += ip_cobs_encode(frame_buf, (size_t)frame_len, wire_buf, size) !=
                    IP_ERR_BUFFER_TOO_SMALL;
        overruns += guard_damage(wire_buf, size) != 0;
    }
    check("too_small_all_sizes_rc", v->name, wrong_rc, 0);
    check("too_small_all_sizes_overrun", v->name, overruns, 0);
}

static void run_bad_arguments(void)
{
    static const uint16_t counts[64 * 32] = {0};
    static const int16_t imu[32 * 6] = {0};
    ip_header hdr = {0x3F2Au, IP_SIDE_LEFT, 0u, 0u};
    ip_header bad_side = {0x3F2Au, 2u, 0u, 0u};
    ip_device_info info = {1u, 2u, 3u, 4u, 16u, 12u, 200u, "insole-L-3f2a"};
    const uint8_t one = 1u;

    check("bad_argument", "samples_ok", ip_encode_samples(&hdr, 200u, 16u, 6u, counts, NULL,
                                                          frame_buf, BUF_LEN),
          (long)IP_SAMPLES_FRAME_LEN(16u, 6u, 0));
    check("bad_argument", "samples_rate_0",
          ip_encode_samples(&hdr, 0u, 16u, 6u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_rate_10001",
          ip_encode_samples(&hdr, 10001u, 16u, 6u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_0_sensors",
          ip_encode_samples(&hdr, 200u, 0u, 6u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_129_sensors",
          ip_encode_samples(&hdr, 200u, 129u, 1u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_0_samples",
          ip_encode_samples(&hdr, 200u, 16u, 0u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_33_samples",
          ip_encode_samples(&hdr, 200u, 16u, 33u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_over_1024_bytes",
          ip_encode_samples(&hdr, 200u, 64u, 8u, counts, imu, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_null_counts",
          ip_encode_samples(&hdr, 200u, 16u, 6u, NULL, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "samples_bad_side",
          ip_encode_samples(&bad_side, 200u, 16u, 6u, counts, NULL, frame_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    /* Bad arguments are reported before a too-small buffer. */
    check("bad_argument", "samples_bad_and_small",
          ip_encode_samples(&hdr, 0u, 16u, 6u, counts, NULL, frame_buf, 0u),
          IP_ERR_BAD_ARGUMENT);

    check("bad_argument", "device_info_ok",
          ip_encode_device_info(&hdr, &info, frame_buf, BUF_LEN), 36);
    info.name = "0123456789abcdef01234567"; /* 24 bytes: the maximum */
    check("bad_argument", "device_info_name_24",
          ip_encode_device_info(&hdr, &info, frame_buf, BUF_LEN),
          (long)IP_DEVICE_INFO_FRAME_LEN(24u));
    info.name = "0123456789abcdef012345678"; /* 25 bytes */
    check("bad_argument", "device_info_name_25",
          ip_encode_device_info(&hdr, &info, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);
    info.name = NULL;
    info.n_sensors = 0u;
    check("bad_argument", "device_info_0_sensors",
          ip_encode_device_info(&hdr, &info, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);
    info.n_sensors = 16u;
    info.adc_bits = 17u;
    check("bad_argument", "device_info_17_bits",
          ip_encode_device_info(&hdr, &info, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "device_info_null",
          ip_encode_device_info(&hdr, NULL, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);

    check("bad_argument", "status_battery_100",
          ip_encode_status(&hdr, 100u, 0u, 0u, frame_buf, BUF_LEN), (long)IP_STATUS_FRAME_LEN);
    check("bad_argument", "status_battery_101",
          ip_encode_status(&hdr, 101u, 0u, 0u, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "status_null_header",
          ip_encode_status(NULL, 50u, 0u, 0u, frame_buf, BUF_LEN), IP_ERR_BAD_ARGUMENT);

    check("bad_argument", "cobs_empty", ip_cobs_encode(&one, 0u, wire_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "cobs_over_1024",
          ip_cobs_encode(frame_buf, IP_MAX_FRAME_LEN + 1u, wire_buf, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
    check("bad_argument", "cobs_null_out", ip_cobs_encode(&one, 1u, NULL, BUF_LEN),
          IP_ERR_BAD_ARGUMENT);
}

static void run_helpers(void)
{
    ip_stream stream;
    ip_header hdr;
    const uint8_t ascii[] = "123456789";

    printf("crc_check %u\n", (unsigned)ip_crc16(ascii, 9u));
    check("helper", "crc16_update_split",
          ip_crc16_update(ip_crc16(ascii, 4u), ascii + 4, 5u), ip_crc16(ascii, 9u));

    ip_stream_init(&stream, 0xBEEFu, IP_SIDE_RIGHT);
    ip_stream_next(&stream, 7u, &hdr);
    check("helper", "stream_first_seq", hdr.seq, 0);
    check("helper", "stream_device_id", hdr.device_id, 0xBEEF);
    check("helper", "stream_side", hdr.side, IP_SIDE_RIGHT);
    check("helper", "stream_timestamp", (long)hdr.timestamp_us, 7);
    stream.next_seq = 65535u;
    ip_stream_next(&stream, 0u, &hdr);
    check("helper", "stream_seq_65535", hdr.seq, 65535);
    ip_stream_next(&stream, 0u, &hdr);
    check("helper", "stream_seq_wraps_to_0", hdr.seq, 0);

    check("helper", "sample_time_200hz",
          (long)ip_sample_time_us(1000000u, 6u, 200u), 1030000);
    check("helper", "sample_time_wraps",
          (long)ip_sample_time_us(4294957296u, 6u, 200u), 20000);
    check("helper", "sample_time_300hz_rounds_down",
          (long)ip_sample_time_us(0u, 1u, 300u), 3333);
}

static long command_code(int rc, const ip_command *cmd)
{
    return rc != 0 ? (long)rc : ((long)cmd->opcode << 16) | (long)cmd->value;
}

static void run_commands(void)
{
    size_t i;
    ip_command cmd;

    for (i = 0u; i < VC_N_COMMANDS; i++) {
        const vc_command *c = &vc_commands[i];
        long want = ((long)c->opcode << 16) | (long)c->value;
        memset(&cmd, 0xAA, sizeof cmd);
        check("command_serial", c->name,
              command_code(ip_decode_command(c->wire, c->wire_len, &cmd), &cmd), want);
        memset(&cmd, 0xAA, sizeof cmd);
        check("command_ble", c->name,
              command_code(ip_parse_command(c->payload, c->payload_len, &cmd), &cmd), want);
    }
    {
        /* START on the wire: 04 01 d1 f1 00 (COBS of 01 d1 f1). */
        const uint8_t start_no_delim[] = {0x04u, 0x01u, 0xd1u, 0xf1u};
        const uint8_t bad_crc[] = {0x04u, 0x01u, 0xd1u, 0xf2u, 0x00u};
        const uint8_t bad_cobs[] = {0x05u, 0x01u, 0xd1u, 0xf1u, 0x00u}; /* code runs past the end */
        const uint8_t too_long[] = {0x08u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 0x00u};
        const uint8_t unknown[] = {0x06u};
        const uint8_t batch_33[] = {0x05u, 33u};
        const uint8_t batch_0[] = {0x05u, 0u};
        const uint8_t rate_0[] = {0x03u, 0x00u, 0x00u};
        const uint8_t rate_10001[] = {0x03u, 0x11u, 0x27u};
        const uint8_t start_with_arg[] = {0x01u, 0x00u};
        const uint8_t rate_short[] = {0x03u, 0xc8u};

        check("bad_command", "serial_without_delimiter",
              command_code(ip_decode_command(start_no_delim, 4u, &cmd), &cmd), 1L << 16);
        check("bad_command", "serial_bad_crc", ip_decode_command(bad_crc, 5u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "serial_bad_cobs", ip_decode_command(bad_cobs, 5u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "serial_too_long", ip_decode_command(too_long, 9u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "serial_empty", ip_decode_command(bad_crc, 0u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "serial_null", ip_decode_command(NULL, 5u, &cmd),
              IP_ERR_BAD_ARGUMENT);
        check("bad_command", "ble_unknown_opcode", ip_parse_command(unknown, 1u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_batch_33", ip_parse_command(batch_33, 2u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_batch_0", ip_parse_command(batch_0, 2u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_rate_0", ip_parse_command(rate_0, 3u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_rate_10001", ip_parse_command(rate_10001, 3u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_start_with_argument", ip_parse_command(start_with_arg, 2u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_rate_short", ip_parse_command(rate_short, 2u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_empty", ip_parse_command(unknown, 0u, &cmd),
              IP_ERR_BAD_COMMAND);
        check("bad_command", "ble_null", ip_parse_command(unknown, 1u, NULL),
              IP_ERR_BAD_ARGUMENT);
    }
}

int main(void)
{
    size_t i;

    for (i = 0u; i < VC_N_VECTORS; i++) {
        run_vector(&vc_vectors[i]);
    }
    run_commands();
    run_bad_arguments();
    run_helpers();
    return 0;
}
