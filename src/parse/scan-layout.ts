// The scanner's record layout: one record of REC_SLOTS i32 slots per input line. Shared by the AssemblyScript
// scanner (src/parse/wasm/scan.ts, which writes records) and src/parse/wasm-scan.ts (which reads them): both
// compile this file, so the two cannot disagree; layout() still reports the version the built module has.
export const REC_SLOTS = 96;
export const LAYOUT_VERSION = 5;

// Record slots (i32 index within a record).
export const R_STATUS = 0; // 0 fallback, 1 event, 2 skip (not a kernel line)
export const R_START = 1; // line start, byte offset from IN_BASE
export const R_END = 2; // line end (before '\n' and a trailing '\r')
export const R_ENV = 3; // envelope code, see ENV_*
export const R_TRANSPORT = 4; // 0 none, 1 kernel, 2 syslog
export const R_HOST = 5; // interned id or -1
export const R_TKIND = 6; // 0 no wall clock, 1 RFC3164 (mo d h mi s), 2 ISO (y mo d h mi s off), 3 journal µs (R_USEC),
// 4 epoch seconds (R_USEC) and the fraction digits (short-unix)
export const R_Y = 7;
export const R_MO = 8;
export const R_D = 9;
export const R_H = 10;
export const R_MI = 11;
export const R_S = 12;
export const R_OFF = 13; // offset minutes
export const R_FRACV = 14; // value of the fraction digits (at most 9)
export const R_FRACN = 15; // number of fraction digits, 0 when none
export const R_HASMONO = 16;
export const R_MONO = 18; // f64 over slots 18-19
export const R_PREFIX = 20;
export const R_IN = 21;
export const R_OUT = 22;
export const R_MAC = 23; // id or -1
export const R_UID = 24; // u32
export const R_GID = 25; // u32
export const R_HASUID = 26;
export const R_MARK = 27; // u32
export const R_HASMARK = 28;
export const R_INNER = 29; // 1 when the ICMP error quotes a packet (fields at P_INNER)
export const R_USEC = 30; // f64 over slots 30-31: journal __REALTIME_TIMESTAMP (µs) with R_TKIND 3, epoch seconds with 4
export const P_OUTER = 32;
export const R_MONO_N = 60; // i64 over slots 60-61: the stamp's digits as an integer N (mono = N / 10^K), with
export const R_MONO_K = 62; // K, or -1 when the digits do not fit (emit() then asks JavaScript to print mono)
export const P_INNER = 64;
// Packet slots (relative to P_OUTER / P_INNER).
export const P_FAMILY = 0;
export const P_SRC = 1;
export const P_DST = 2;
export const P_LEN = 3;
export const P_TOS = 4;
export const P_PREC = 5;
export const P_TTL = 6;
export const P_ID = 7;
export const P_IPFLAGS = 8; // bits CE=1 DF=2 MF=4, printed in that order
export const P_TC = 9;
export const P_HOP = 10;
export const P_FLOWLBL = 11;
export const P_PROTO = 12; // 1 TCP, 2 UDP, 3 ICMP, 4 ICMPv6
export const P_SPT = 13;
export const P_DPT = 14;
export const P_WINDOW = 15;
export const P_RES = 16;
export const P_TCPFLAGS = 17; // bit i = i-th of AE CWR ECE URG ACK PSH RST SYN FIN, printed in that order
export const P_URGP = 18;
export const P_UDPLEN = 19;
export const P_ITYPE = 20;
export const P_ICODE = 21;
export const P_IID = 22;
export const P_ISEQ = 23;
export const P_HASIDSEQ = 24;
export const P_SEQ = 25; // u32
export const P_ACK = 26; // u32
export const P_HASSEQ = 27;
