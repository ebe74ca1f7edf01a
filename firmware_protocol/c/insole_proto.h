/*
 * insole_proto.h - reference encoder for the insole wire protocol, version 1.
 *
 * The contract is firmware_protocol/SPEC.md; this file restates the layout so that a firmware
 * author can work from it alone. The encoder is tested byte-for-byte against the golden
 * vectors in firmware_protocol/vectors/vectors.json (tests/test_c_encoder.py).
 *
 * Portable C99: no dynamic memory, no I/O, only <stdint.h>, <stddef.h> and <string.h>.
 * Every multi-byte field is written byte by byte in LITTLE-ENDIAN order (least significant
 * byte first), so the output does not depend on the CPU's endianness, on struct padding or
 * on alignment. Never memcpy() a C struct onto the wire.
 *
 * Typical use on a device, once per batch of samples:
 *
 *     static ip_stream stream;             // ip_stream_init(&stream, 0x3F2A, IP_SIDE_LEFT)
 *     uint8_t frame[IP_MAX_FRAME_LEN];
 *     uint8_t wire[IP_MAX_WIRE_LEN];
 *     ip_header hdr;
 *     ip_stream_next(&stream, t_first_sample_us, &hdr);   // takes the next seq
 *     int n = ip_encode_samples(&hdr, 200, 16, 6, counts, NULL, frame, sizeof frame);
 *     if (n > 0) {
 *         int w = ip_cobs_encode(frame, (size_t)n, wire, sizeof wire);
 *         if (w > 0) uart_or_ble_send(wire, (size_t)w);   // w includes the 0x00 delimiter
 *     }
 *
 * Frame layout (before COBS; offsets in bytes, all integers little-endian):
 *
 *     0   u8   version       = 1
 *     1   u8   frame_type    0x01 SAMPLES, 0x02 DEVICE_INFO, 0x03 STATUS
 *     2   u8   flags         bit0 side (0 left, 1 right); bit1 IMU block present (SAMPLES);
 *                            bits 2-7 reserved, 0
 *     3   u8   reserved      0
 *     4   u16  device_id
 *     6   u16  seq           +1 (mod 65536) for every frame the device emits, any type
 *     8   u32  timestamp_us  device clock at the first sample (SAMPLES) or at sending
 *     12  ...  body          see the ip_encode_* functions
 *     end u16  crc           CRC-16/CCITT-FALSE over every byte before it
 *
 * On the wire (UART, USB CDC, BLE data characteristic) each frame is COBS-encoded and
 * followed by one 0x00 byte: wire = cobs(frame) + 0x00. See ip_cobs_encode().
 */
#ifndef INSOLE_PROTO_H
#define INSOLE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Constants ------------------------------------------------------------------------ */

#define IP_PROTOCOL_VERSION 1u

#define IP_HEADER_LEN 12u     /* bytes before the body */
#define IP_CRC_LEN 2u         /* trailing CRC */
#define IP_MIN_FRAME_LEN 14u  /* header + CRC */
#define IP_MAX_FRAME_LEN 1024u

/* Worst-case COBS output for n input bytes, including the 0x00 delimiter:
 * one code byte per started block of 254 bytes (at least one), plus the data, plus 0x00. */
#define IP_COBS_MAX_LEN(n) ((size_t)(n) + ((size_t)(n) / 254u) + 2u)
#define IP_MAX_WIRE_LEN IP_COBS_MAX_LEN(IP_MAX_FRAME_LEN)

/* frame_type values (byte 1) */
#define IP_FRAME_SAMPLES 0x01u
#define IP_FRAME_DEVICE_INFO 0x02u
#define IP_FRAME_STATUS 0x03u

/* flags bits (byte 2) */
#define IP_FLAG_SIDE_RIGHT 0x01u
#define IP_FLAG_IMU 0x02u

/* side values for ip_header.side */
#define IP_SIDE_LEFT 0u
#define IP_SIDE_RIGHT 1u

/* Argument limits of SPEC.md (a SAMPLES frame must also fit in IP_MAX_FRAME_LEN). */
#define IP_MAX_SENSORS 128u
#define IP_MAX_SAMPLES 32u
#define IP_MIN_RATE_HZ 1u
#define IP_MAX_RATE_HZ 10000u
#define IP_MAX_NAME_LEN 24u  /* bytes of UTF-8, not characters */
#define IP_BATTERY_UNKNOWN 255u

/* STATUS error_flags bits */
#define IP_ERR_FLAG_SATURATED 0x0001u
#define IP_ERR_FLAG_BUFFER_OVERFLOW 0x0002u
#define IP_ERR_FLAG_BATTERY_LOW 0x0004u
#define IP_ERR_FLAG_THROUGHPUT_LIMITED 0x0008u
#define IP_ERR_FLAG_CLOCK_RESTARTED 0x0010u

/* Exact frame lengths, handy for sizing buffers at compile time. */
#define IP_SAMPLES_FRAME_LEN(n_sensors, n_samples, has_imu)                                  \
    (IP_HEADER_LEN + 4u + 2u * (size_t)(n_sensors) * (size_t)(n_samples) +                   \
     ((has_imu) ? 12u * (size_t)(n_samples) : 0u) + IP_CRC_LEN)
#define IP_DEVICE_INFO_FRAME_LEN(name_len) (IP_HEADER_LEN + 9u + (size_t)(name_len) + IP_CRC_LEN)
#define IP_STATUS_FRAME_LEN (IP_HEADER_LEN + 6u + IP_CRC_LEN)

/* ---- Error codes (every encoder returns a length > 0 or one of these) ----------------- */

#define IP_ERR_BUFFER_TOO_SMALL (-1) /* out_size is smaller than the result; nothing usable */
#define IP_ERR_BAD_ARGUMENT (-2)     /* NULL pointer or a value outside SPEC.md's range */
#define IP_ERR_BAD_COMMAND (-3)      /* a received command is invalid (see ip_parse_command) */

/* ---- Header and sequence numbering ---------------------------------------------------- */

/* The per-frame header fields that the caller chooses (version, type and flags are set by
 * the encoders). */
typedef struct ip_header {
    uint16_t device_id;    /* unique per insole, e.g. low 16 bits of its BLE address */
    uint8_t side;          /* IP_SIDE_LEFT or IP_SIDE_RIGHT */
    uint16_t seq;          /* frame counter, see ip_stream */
    uint32_t timestamp_us; /* device clock [us]; wraps at 2^32, which is fine */
} ip_header;

/* One device's frame counter. SPEC.md section 2: a device has ONE seq counter for all of
 * its frames (SAMPLES, DEVICE_INFO and STATUS alike), incremented by one modulo 65536 per
 * frame emitted. Take a header with ip_stream_next() for every frame you send, and never
 * reuse it for another frame: a repeated seq is treated as a duplicate by the host. */
typedef struct ip_stream {
    uint16_t device_id;
    uint8_t side;
    uint16_t next_seq; /* seq of the next frame; starts at 0 */
} ip_stream;

/* Set up a stream; the first frame gets seq 0. */
void ip_stream_init(ip_stream *stream, uint16_t device_id, uint8_t side);

/* Fill *hdr for the next frame (device_id, side, the next seq, timestamp_us) and advance
 * the counter, wrapping from 65535 to 0. */
void ip_stream_next(ip_stream *stream, uint32_t timestamp_us, ip_header *hdr);

/* Device time of sample k of a SAMPLES frame as the host computes it (SPEC.md section 1.1):
 * timestamp_us + k * 1e6 / sample_rate_hz, here in integers (rounded down) and wrapping at
 * 2^32 like the device clock. Stamp each frame with the real device clock at its first
 * sample rather than by chaining this function, which would accumulate rounding. */
uint32_t ip_sample_time_us(uint32_t timestamp_us, uint32_t k, uint16_t sample_rate_hz);

/* ---- CRC ------------------------------------------------------------------------------ */

/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, MSB first (no reflection),
 * no final XOR. ip_crc16("123456789", 9) == 0x29B1. The frame stores it little-endian. */
uint16_t ip_crc16(const uint8_t *data, size_t len);

/* Continue a CRC over more bytes: ip_crc16(a+b) == ip_crc16_update(ip_crc16(a), b).
 * Start with crc = 0xFFFF. */
uint16_t ip_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

/* ---- Frame encoders ------------------------------------------------------------------- */
/* Each writes one complete frame (header + body + CRC) to out[0 .. n-1] and returns n, or
 * returns IP_ERR_BAD_ARGUMENT (checked first) or IP_ERR_BUFFER_TOO_SMALL. On error the
 * contents of out are unspecified. */

/* SAMPLES (0x01) body:
 *
 *     12  u16  sample_rate_hz   1 .. 10000
 *     14  u8   n_sensors        1 .. 128
 *     15  u8   n_samples        1 .. 32
 *     16  u16  counts[n_samples][n_sensors]   sample-major (all sensors of sample 0 first)
 *     ..  i16  imu[n_samples][6]              only if imu != NULL (sets flags bit1):
 *                                             ax, ay, az [mg], gx, gy, gz [0.1 deg/s]
 *
 * counts points to n_samples * n_sensors values laid out as counts[k * n_sensors + s] for
 * sample k and sensor s (a C array uint16_t counts[n_samples][n_sensors] is exactly that).
 * imu is NULL or points to n_samples * 6 values, imu[k * 6 + axis].
 * The frame is IP_SAMPLES_FRAME_LEN(n_sensors, n_samples, imu != NULL) bytes; combinations
 * longer than IP_MAX_FRAME_LEN (e.g. 64 sensors x 32 samples) are IP_ERR_BAD_ARGUMENT. */
int ip_encode_samples(const ip_header *hdr, uint16_t sample_rate_hz, uint8_t n_sensors,
                      uint8_t n_samples, const uint16_t *counts, const int16_t *imu,
                      uint8_t *out, size_t out_size);

/* What a DEVICE_INFO frame reports. */
typedef struct ip_device_info {
    uint8_t fw_major, fw_minor, fw_patch;
    uint8_t hw_revision;
    uint8_t n_sensors;       /* 1 .. 128 */
    uint8_t adc_bits;        /* 1 .. 16, e.g. 12 */
    uint16_t sample_rate_hz; /* current rate, 1 .. 10000 */
    const char *name;        /* UTF-8, NUL-terminated, at most 24 BYTES; NULL = no name */
} ip_device_info;

/* DEVICE_INFO (0x02) body:
 *
 *     12  u8   fw_major
 *     13  u8   fw_minor
 *     14  u8   fw_patch
 *     15  u8   hw_revision
 *     16  u8   n_sensors
 *     17  u8   adc_bits
 *     18  u16  sample_rate_hz
 *     20  u8   name_len         0 .. 24 (bytes)
 *     21  ..   name             UTF-8 bytes, no terminating NUL
 *
 * Send it after START and on REQUEST_INFO. */
int ip_encode_device_info(const ip_header *hdr, const ip_device_info *info, uint8_t *out,
                          size_t out_size);

/* STATUS (0x03) body:
 *
 *     12  u8   battery_pct      0 .. 100, or 255 (IP_BATTERY_UNKNOWN)
 *     13  u8   reserved         0
 *     14  u16  error_flags      IP_ERR_FLAG_* bits
 *     16  u16  frames_dropped   cumulative, wraps
 *
 * Send it at least every 5 s while streaming and whenever a flag changes. */
int ip_encode_status(const ip_header *hdr, uint8_t battery_pct, uint16_t error_flags,
                     uint16_t frames_dropped, uint8_t *out, size_t out_size);

/* ---- COBS framing --------------------------------------------------------------------- */

/* COBS-encode in[0 .. in_len-1] into out and append the 0x00 frame delimiter; returns the
 * number of bytes written including the delimiter (at most IP_COBS_MAX_LEN(in_len)), or
 * IP_ERR_BAD_ARGUMENT (NULL pointer, in_len 0 or > IP_MAX_FRAME_LEN) or
 * IP_ERR_BUFFER_TOO_SMALL. in and out must not overlap.
 *
 * COBS (Cheshire & Baker 1999) removes every 0x00: the input is cut at each 0x00 into runs
 * of non-zero bytes, and each run is written as a code byte (run length + 1) followed by the
 * run; the 0x00 itself is implied. Runs of 254 bytes or more are split into blocks of 254
 * with code 0xFF, which imply no 0x00. This encoder writes the shortest form: when the input
 * ends exactly after a 0xFF block, no empty 0x01 block follows (vector cobs_run_254_at_end). */
int ip_cobs_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size);

/* ---- Host -> device commands (SPEC.md section 3 and 4.3) -------------------------------- */

#define IP_CMD_START 0x01u
#define IP_CMD_STOP 0x02u
#define IP_CMD_SET_RATE 0x03u     /* argument: u16 sample_rate_hz, little-endian */
#define IP_CMD_REQUEST_INFO 0x04u
#define IP_CMD_SET_BATCH 0x05u    /* argument: u8 n_samples */
/* Longest serial command on the wire: COBS(opcode + u16 + CRC) + 0x00. */
#define IP_MAX_COMMAND_WIRE_LEN 7u

typedef struct ip_command {
    uint8_t opcode;  /* IP_CMD_* */
    uint16_t value;  /* sample_rate_hz (SET_RATE), n_samples (SET_BATCH), else 0 */
} ip_command;

/* Parse a BLE control write: opcode and arguments, exactly (no CRC: the link has its own).
 * Returns 0 and fills *cmd, IP_ERR_BAD_COMMAND (empty, unknown opcode, wrong argument length,
 * argument out of range: SET_RATE 1 .. 10000, SET_BATCH 1 .. 32) or IP_ERR_BAD_ARGUMENT
 * (NULL pointer). Firmware should answer an invalid command with a STATUS frame. */
int ip_parse_command(const uint8_t *payload, size_t len, ip_command *cmd);

/* Parse a serial command: the COBS bytes up to the 0x00 delimiter (which may be included).
 * Checks the COBS form and the CRC-16 over opcode and arguments, then as ip_parse_command.
 * Returns 0, IP_ERR_BAD_COMMAND or IP_ERR_BAD_ARGUMENT. Uses no buffer of the caller. */
int ip_decode_command(const uint8_t *wire, size_t len, ip_command *cmd);

#ifdef __cplusplus
}
#endif

#endif /* INSOLE_PROTO_H */
