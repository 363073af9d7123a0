// Binlog event type codes and column type codes of MySQL and MariaDB (names as in their sources).
#pragma once

#include <cstdint>
#include <string_view>

namespace rowpipe::binlog {

// https://dev.mysql.com/doc/dev/mysql-server/latest/namespacemysql_1_1binlog_1_1event.html
// (Log_event_type) and MariaDB's sql/log_event.h for the 160+ range.
enum EventTypeCode : uint8_t {
  kUnknownEvent = 0,
  kStartEventV3 = 1,
  kQueryEvent = 2,
  kStopEvent = 3,
  kRotateEvent = 4,
  kIntvarEvent = 5,
  kLoadEvent = 6,
  kSlaveEvent = 7,
  kCreateFileEvent = 8,
  kAppendBlockEvent = 9,
  kExecLoadEvent = 10,
  kDeleteFileEvent = 11,
  kNewLoadEvent = 12,
  kRandEvent = 13,
  kUserVarEvent = 14,
  kFormatDescriptionEvent = 15,
  kXidEvent = 16,
  kBeginLoadQueryEvent = 17,
  kExecuteLoadQueryEvent = 18,
  kTableMapEvent = 19,
  kPreGaWriteRowsEvent = 20,
  kPreGaUpdateRowsEvent = 21,
  kPreGaDeleteRowsEvent = 22,
  kWriteRowsEventV1 = 23,
  kUpdateRowsEventV1 = 24,
  kDeleteRowsEventV1 = 25,
  kIncidentEvent = 26,
  kHeartbeatEvent = 27,
  kIgnorableEvent = 28,
  kRowsQueryEvent = 29,
  kWriteRowsEvent = 30,
  kUpdateRowsEvent = 31,
  kDeleteRowsEvent = 32,
  kGtidEvent = 33,
  kAnonymousGtidEvent = 34,
  kPreviousGtidsEvent = 35,
  kTransactionContextEvent = 36,
  kViewChangeEvent = 37,
  kXaPrepareEvent = 38,
  kPartialUpdateRowsEvent = 39,
  kTransactionPayloadEvent = 40,
  kHeartbeatEventV2 = 41,
  kGtidTaggedEvent = 42,
  // MariaDB
  kMariaAnnotateRowsEvent = 160,
  kMariaBinlogCheckpointEvent = 161,
  kMariaGtidEvent = 162,
  kMariaGtidListEvent = 163,
  kMariaStartEncryptionEvent = 164,
  kMariaQueryCompressedEvent = 165,
  kMariaWriteRowsCompressedEventV1 = 166,
  kMariaUpdateRowsCompressedEventV1 = 167,
  kMariaDeleteRowsCompressedEventV1 = 168,
  kMariaWriteRowsCompressedEvent = 169,
  kMariaUpdateRowsCompressedEvent = 170,
  kMariaDeleteRowsCompressedEvent = 171,
};

// Name for messages ("TABLE_MAP_EVENT", "type 99").
std::string_view event_type_name(uint8_t type);

// enum_field_types (include/field_types.h); 242 is MySQL 9's VECTOR.
enum ColumnTypeCode : uint8_t {
  kTypeDecimal = 0,
  kTypeTiny = 1,
  kTypeShort = 2,
  kTypeLong = 3,
  kTypeFloat = 4,
  kTypeDouble = 5,
  kTypeNull = 6,
  kTypeTimestamp = 7,
  kTypeLonglong = 8,
  kTypeInt24 = 9,
  kTypeDate = 10,
  kTypeTime = 11,
  kTypeDatetime = 12,
  kTypeYear = 13,
  kTypeNewdate = 14,
  kTypeVarchar = 15,
  kTypeBit = 16,
  kTypeTimestamp2 = 17,
  kTypeDatetime2 = 18,
  kTypeTime2 = 19,
  kTypeTypedArray = 20,
  kTypeVector = 242,
  kTypeInvalid = 243,
  kTypeBool = 244,
  kTypeJson = 245,
  kTypeNewdecimal = 246,
  kTypeEnum = 247,
  kTypeSet = 248,
  kTypeTinyBlob = 249,
  kTypeMediumBlob = 250,
  kTypeLongBlob = 251,
  kTypeBlob = 252,
  kTypeVarString = 253,
  kTypeString = 254,
  kTypeGeometry = 255,
};

// Binlog checksum algorithms (FDE's last byte before the checksum).
enum ChecksumAlg : uint8_t { kChecksumOff = 0, kChecksumCrc32 = 1, kChecksumUndefined = 255 };

// Rows event flags.
constexpr uint16_t kRowsStmtEndFlag = 0x0001;

constexpr size_t kHeaderLength = 19;           // v4 common header
constexpr size_t kChecksumLength = 4;          // CRC32
constexpr uint32_t kBinlogMagic = 0x6e6962fe;  // "\xfebin" read little-endian

}  // namespace rowpipe::binlog
