/*
 * insole_proto.c - reference encoder for the insole wire protocol, version 1.
 * See insole_proto.h for the API and the frame layout, and firmware_protocol/SPEC.md.
 *
 * Portability notes for firmware authors:
 *  - Integers are written with put_u16le()/put_u32le(), one byte at a time, least
 *    significant byte first. This gives the same bytes on little- and big-endian CPUs and
 *    needs no alignment; do not replace it with memcpy() of a struct.
 *  - int16_t IMU values are converted to uint16_t before packing; C99 defines that
 *    conversion modulo 2^16, which yields the two's complement bit pattern on the wire.
 *  - Lengths are checked before anything is written, so no encoder writes past out_size.
 */
#include "insole_proto.h"

#include <string.h>

/* ---- Little-endian packing ------------------------------------------------------------ */

static void put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

/* ---- Sequence numbers ----------------------------------------------------------------- */

void ip_stream_init(ip_stream *stream, uint16_t device_id, uint8_t side)
{
    stream->device_id = device_id;
    stream->side = side;
    stream->next_seq = 0u;
}

void ip_stream_next(ip_stream *stream, uint32_t timestamp_us, ip_header *hdr)
{
    hdr->device_id = stream->device_id;
    hdr->side = stream->side;
    hdr->seq = stream->next_seq;
    hdr->timestamp_us = timestamp_us;
    /* uint16_t arithmetic wraps 65535 -> 0 after the cast. */
    stream->next_seq = (uint16_t)(stream->next_seq + 1u);
}

uint32_t ip_sample_time_us(uint32_t timestamp_us, uint32_t k, uint16_t sample_rate_hz)
{
    uint64_t offset_us;

    if (sample_rate_hz == 0u) {
        return timestamp_us;
    }
    offset_us = ((uint64_t)k * 1000000u) / sample_rate_hz;
    /* Unsigned addition wraps at 2^32 like the device clock. */
    return (uint32_t)(timestamp_us + (uint32_t)(offset_us & 0xFFFFFFFFu));
}

/* ---- CRC-16/CCITT-FALSE --------------------------------------------------------------- */

uint16_t ip_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    /* Bitwise form: small and table-free. A 256-entry table (512 bytes of flash) is about
     * 8x faster if a firmware needs it; the result must stay identical. */
    size_t i;
    unsigned bit;

    for (i = 0u; i < len; i++) {
        crc = (uint16_t)(crc ^ ((uint16_t)data[i] << 8));
        for (bit = 0u; bit < 8u; bit++) {
            if ((crc & 0x8000u) != 0u) {
                crc = (uint16_t)((crc << 1) ^ 0x1021u);
            } else {
                crc = (uint16_t)(crc << 1);
            }
        }
    }
    return crc;
}

uint16_t ip_crc16(const uint8_t *data, size_t len)
{
    return ip_crc16_update(0xFFFFu, data, len);
}

/* ---- Frames --------------------------------------------------------------------------- */

/* Write the 12-byte header. flags gets the side bit here; callers OR in other bits. */
static void put_header(uint8_t *out, uint8_t frame_type, uint8_t extra_flags,
                       const ip_header *hdr)
{
    out[0] = (uint8_t)IP_PROTOCOL_VERSION;
    out[1] = frame_type;
    out[2] = (uint8_t)(extra_flags | (hdr->side == IP_SIDE_RIGHT ? IP_FLAG_SIDE_RIGHT : 0u));
    out[3] = 0u; /* reserved */
    put_u16le(&out[4], hdr->device_id);
    put_u16le(&out[6], hdr->seq);
    put_u32le(&out[8], hdr->timestamp_us);
}

/* Append the CRC over out[0 .. body_end-1] at out[body_end]; return the frame length. */
static int put_crc(uint8_t *out, size_t body_end)
{
    put_u16le(&out[body_end], ip_crc16(out, body_end));
    return (int)(body_end + IP_CRC_LEN);
}

static int header_ok(const ip_header *hdr)
{
    return hdr != NULL && (hdr->side == IP_SIDE_LEFT || hdr->side == IP_SIDE_RIGHT);
}

int ip_encode_samples(const ip_header *hdr, uint16_t sample_rate_hz, uint8_t n_sensors,
                      uint8_t n_samples, const uint16_t *counts, const int16_t *imu,
                      uint8_t *out, size_t out_size)
{
    size_t frame_len;
    size_t n_values;
    size_t i;
    size_t pos;

    if (!header_ok(hdr) || counts == NULL || out == NULL) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (sample_rate_hz < IP_MIN_RATE_HZ || sample_rate_hz > IP_MAX_RATE_HZ ||
        n_sensors < 1u || n_sensors > IP_MAX_SENSORS || n_samples < 1u ||
        n_samples > IP_MAX_SAMPLES) {
        return IP_ERR_BAD_ARGUMENT;
    }
    frame_len = IP_SAMPLES_FRAME_LEN(n_sensors, n_samples, imu != NULL);
    if (frame_len > IP_MAX_FRAME_LEN) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (out_size < frame_len) {
        return IP_ERR_BUFFER_TOO_SMALL;
    }

    put_header(out, (uint8_t)IP_FRAME_SAMPLES, (uint8_t)(imu != NULL ? IP_FLAG_IMU : 0u), hdr);
    put_u16le(&out[12], sample_rate_hz);
    out[14] = n_sensors;
    out[15] = n_samples;
    pos = 16u;

    /* counts: sample-major, exactly the order of a uint16_t[n_samples][n_sensors] array. */
    n_values = (size_t)n_sensors * (size_t)n_samples;
    for (i = 0u; i < n_values; i++) {
        put_u16le(&out[pos], counts[i]);
        pos += 2u;
    }
    /* imu: 6 signed values per sample, two's complement little-endian. */
    if (imu != NULL) {
        n_values = (size_t)n_samples * 6u;
        for (i = 0u; i < n_values; i++) {
            put_u16le(&out[pos], (uint16_t)imu[i]);
            pos += 2u;
        }
    }
    return put_crc(out, pos);
}

/* Length of a NUL-terminated string, but look at no more than limit + 1 bytes, so an
 * unterminated name is reported as too long instead of being read past its end. */
static size_t bounded_strlen(const char *s, size_t limit)
{
    size_t n = 0u;

    while (n <= limit && s[n] != '\0') {
        n++;
    }
    return n;
}

int ip_encode_device_info(const ip_header *hdr, const ip_device_info *info, uint8_t *out,
                          size_t out_size)
{
    size_t name_len = 0u;
    size_t frame_len;

    if (!header_ok(hdr) || info == NULL || out == NULL) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (info->name != NULL) {
        name_len = bounded_strlen(info->name, IP_MAX_NAME_LEN);
    }
    if (name_len > IP_MAX_NAME_LEN || info->n_sensors < 1u ||
        info->n_sensors > IP_MAX_SENSORS || info->adc_bits < 1u || info->adc_bits > 16u ||
        info->sample_rate_hz < IP_MIN_RATE_HZ || info->sample_rate_hz > IP_MAX_RATE_HZ) {
        return IP_ERR_BAD_ARGUMENT;
    }
    frame_len = IP_DEVICE_INFO_FRAME_LEN(name_len);
    if (out_size < frame_len) {
        return IP_ERR_BUFFER_TOO_SMALL;
    }

    put_header(out, (uint8_t)IP_FRAME_DEVICE_INFO, 0u, hdr);
    out[12] = info->fw_major;
    out[13] = info->fw_minor;
    out[14] = info->fw_patch;
    out[15] = info->hw_revision;
    out[16] = info->n_sensors;
    out[17] = info->adc_bits;
    put_u16le(&out[18], info->sample_rate_hz);
    out[20] = (uint8_t)name_len;
    if (name_len > 0u) {
        memcpy(&out[21], info->name, name_len); /* raw UTF-8 bytes, no NUL */
    }
    return put_crc(out, 21u + name_len);
}

int ip_encode_status(const ip_header *hdr, uint8_t battery_pct, uint16_t error_flags,
                     uint16_t frames_dropped, uint8_t *out, size_t out_size)
{
    if (!header_ok(hdr) || out == NULL) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (battery_pct > 100u && battery_pct != IP_BATTERY_UNKNOWN) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (out_size < IP_STATUS_FRAME_LEN) {
        return IP_ERR_BUFFER_TOO_SMALL;
    }

    put_header(out, (uint8_t)IP_FRAME_STATUS, 0u, hdr);
    out[12] = battery_pct;
    out[13] = 0u; /* reserved */
    put_u16le(&out[14], error_flags);
    put_u16le(&out[16], frames_dropped);
    return put_crc(out, 18u);
}

/* ---- COBS ----------------------------------------------------------------------------- */

int ip_cobs_encode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size)
{
    size_t code_pos = 0u; /* where the code byte of the open block goes */
    size_t pos = 1u;      /* next free byte in out */
    uint8_t code = 1u;    /* 1 + number of data bytes in the open block */
    int block_open = 1;   /* 0 only when the input ended exactly after a full block */
    size_t i;

    if (in == NULL || out == NULL || in_len == 0u || in_len > IP_MAX_FRAME_LEN) {
        return IP_ERR_BAD_ARGUMENT;
    }
    /* The worst case (IP_COBS_MAX_LEN) is not required up front, since a smaller buffer may
     * be enough for this input. Instead every index is checked before it is reserved or
     * written, so out[pos] is never touched for pos >= out_size. */
    if (out_size < 2u) {
        return IP_ERR_BUFFER_TOO_SMALL;
    }
    for (i = 0u; i < in_len; i++) {
        if (in[i] != 0u) {
            if (pos >= out_size) {
                return IP_ERR_BUFFER_TOO_SMALL;
            }
            out[pos++] = in[i];
            code++;
            if (code != 0xFFu) {
                continue;
            }
            /* 254 data bytes: close the block with code 0xFF, which implies no 0x00. */
            if (i + 1u == in_len) {
                /* Input ends here: shortest form, no empty 0x01 block after it. */
                out[code_pos] = code;
                block_open = 0;
                break;
            }
        }
        /* A 0x00 (implied by any code below 0xFF) or a full block: close the block and
         * reserve a byte for the next block's code. */
        out[code_pos] = code;
        code = 1u;
        if (pos >= out_size) {
            return IP_ERR_BUFFER_TOO_SMALL;
        }
        code_pos = pos++;
    }
    if (block_open) {
        out[code_pos] = code; /* the last block */
    }
    /* The 0x00 delimiter that ends the frame on the wire. */
    if (pos >= out_size) {
        return IP_ERR_BUFFER_TOO_SMALL;
    }
    out[pos++] = 0x00u;
    return (int)pos;
}

/* ---- Host -> device commands ------------------------------------------------------------ */

int ip_parse_command(const uint8_t *payload, size_t len, ip_command *cmd)
{
    size_t n_args;

    if (payload == NULL || cmd == NULL) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (len == 0u) {
        return IP_ERR_BAD_COMMAND;
    }
    switch (payload[0]) {
    case IP_CMD_START:
    case IP_CMD_STOP:
    case IP_CMD_REQUEST_INFO:
        n_args = 0u;
        break;
    case IP_CMD_SET_RATE:
        n_args = 2u;
        break;
    case IP_CMD_SET_BATCH:
        n_args = 1u;
        break;
    default:
        return IP_ERR_BAD_COMMAND;
    }
    if (len != 1u + n_args) {
        return IP_ERR_BAD_COMMAND;
    }
    cmd->opcode = payload[0];
    cmd->value = 0u;
    if (payload[0] == IP_CMD_SET_RATE) {
        uint16_t rate = (uint16_t)((unsigned)payload[1] | ((unsigned)payload[2] << 8));
        if (rate < IP_MIN_RATE_HZ || rate > IP_MAX_RATE_HZ) {
            return IP_ERR_BAD_COMMAND;
        }
        cmd->value = rate;
    } else if (payload[0] == IP_CMD_SET_BATCH) {
        if (payload[1] < 1u || payload[1] > IP_MAX_SAMPLES) {
            return IP_ERR_BAD_COMMAND;
        }
        cmd->value = payload[1];
    }
    return 0;
}

int ip_decode_command(const uint8_t *wire, size_t len, ip_command *cmd)
{
    uint8_t raw[IP_MAX_COMMAND_WIRE_LEN];
    size_t n = 0u;
    size_t i = 0u;

    if (wire == NULL || cmd == NULL) {
        return IP_ERR_BAD_ARGUMENT;
    }
    if (len > 0u && wire[len - 1u] == 0u) {
        len--; /* the delimiter */
    }
    if (len == 0u || len >= IP_MAX_COMMAND_WIRE_LEN) {
        return IP_ERR_BAD_COMMAND;
    }
    while (i < len) { /* COBS: a code byte, code - 1 data bytes, then an implied 0x00 */
        uint8_t code = wire[i++];
        uint8_t k;
        if (code == 0u) {
            return IP_ERR_BAD_COMMAND;
        }
        for (k = 1u; k < code; k++) {
            if (i >= len || wire[i] == 0u) {
                return IP_ERR_BAD_COMMAND;
            }
            raw[n++] = wire[i++];
        }
        if (code != 0xFFu && i < len) {
            raw[n++] = 0u;
        }
    }
    if (n < 3u) {
        return IP_ERR_BAD_COMMAND;
    }
    if (ip_crc16(raw, n - 2u) != (uint16_t)((unsigned)raw[n - 2u] | ((unsigned)raw[n - 1u] << 8))) {
        return IP_ERR_BAD_COMMAND;
    }
    return ip_parse_command(raw, n - 2u, cmd);
}
