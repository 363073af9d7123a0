// Parse errors of the bounds-checked reader, and event type names for messages.
#include "binlog/reader.hpp"

#include "binlog/constants.hpp"

namespace rowpipe::binlog {

void throw_truncated(const char* what, uint64_t offset) {
  fail(ErrorKind::kProtocol, std::string("truncated event: ") + what +
                                 " runs past the end of the event at byte offset " + std::to_string(offset));
}

void throw_corrupt(const std::string& what, uint64_t offset) {
  fail(ErrorKind::kProtocol, "corrupt event: " + what + " at byte offset " + std::to_string(offset));
}

std::string_view event_type_name(uint8_t type) {
  switch (type) {
    case kStartEventV3: return "START_EVENT_V3";
    case kQueryEvent: return "QUERY_EVENT";
    case kStopEvent: return "STOP_EVENT";
    case kRotateEvent: return "ROTATE_EVENT";
    case kIntvarEvent: return "INTVAR_EVENT";
    case kLoadEvent: return "LOAD_EVENT";
    case kCreateFileEvent: return "CREATE_FILE_EVENT";
    case kAppendBlockEvent: return "APPEND_BLOCK_EVENT";
    case kExecLoadEvent: return "EXEC_LOAD_EVENT";
    case kDeleteFileEvent: return "DELETE_FILE_EVENT";
    case kNewLoadEvent: return "NEW_LOAD_EVENT";
    case kRandEvent: return "RAND_EVENT";
    case kUserVarEvent: return "USER_VAR_EVENT";
    case kFormatDescriptionEvent: return "FORMAT_DESCRIPTION_EVENT";
    case kXidEvent: return "XID_EVENT";
    case kBeginLoadQueryEvent: return "BEGIN_LOAD_QUERY_EVENT";
    case kExecuteLoadQueryEvent: return "EXECUTE_LOAD_QUERY_EVENT";
    case kTableMapEvent: return "TABLE_MAP_EVENT";
    case kPreGaWriteRowsEvent: return "PRE_GA_WRITE_ROWS_EVENT";
    case kPreGaUpdateRowsEvent: return "PRE_GA_UPDATE_ROWS_EVENT";
    case kPreGaDeleteRowsEvent: return "PRE_GA_DELETE_ROWS_EVENT";
    case kWriteRowsEventV1: return "WRITE_ROWS_EVENT_V1";
    case kUpdateRowsEventV1: return "UPDATE_ROWS_EVENT_V1";
    case kDeleteRowsEventV1: return "DELETE_ROWS_EVENT_V1";
    case kIncidentEvent: return "INCIDENT_EVENT";
    case kHeartbeatEvent: return "HEARTBEAT_LOG_EVENT";
    case kIgnorableEvent: return "IGNORABLE_LOG_EVENT";
    case kRowsQueryEvent: return "ROWS_QUERY_LOG_EVENT";
    case kWriteRowsEvent: return "WRITE_ROWS_EVENT";
    case kUpdateRowsEvent: return "UPDATE_ROWS_EVENT";
    case kDeleteRowsEvent: return "DELETE_ROWS_EVENT";
    case kGtidEvent: return "GTID_LOG_EVENT";
    case kAnonymousGtidEvent: return "ANONYMOUS_GTID_LOG_EVENT";
    case kPreviousGtidsEvent: return "PREVIOUS_GTIDS_LOG_EVENT";
    case kTransactionContextEvent: return "TRANSACTION_CONTEXT_EVENT";
    case kViewChangeEvent: return "VIEW_CHANGE_EVENT";
    case kXaPrepareEvent: return "XA_PREPARE_LOG_EVENT";
    case kPartialUpdateRowsEvent: return "PARTIAL_UPDATE_ROWS_EVENT";
    case kTransactionPayloadEvent: return "TRANSACTION_PAYLOAD_EVENT";
    case kHeartbeatEventV2: return "HEARTBEAT_LOG_EVENT_V2";
    case kGtidTaggedEvent: return "GTID_TAGGED_LOG_EVENT";
    case kMariaAnnotateRowsEvent: return "ANNOTATE_ROWS_EVENT";
    case kMariaBinlogCheckpointEvent: return "BINLOG_CHECKPOINT_EVENT";
    case kMariaGtidEvent: return "GTID_EVENT (MariaDB)";
    case kMariaGtidListEvent: return "GTID_LIST_EVENT";
    case kMariaStartEncryptionEvent: return "START_ENCRYPTION_EVENT";
    case kMariaQueryCompressedEvent: return "QUERY_COMPRESSED_EVENT";
    case kMariaWriteRowsCompressedEventV1: return "WRITE_ROWS_COMPRESSED_EVENT_V1";
    case kMariaUpdateRowsCompressedEventV1: return "UPDATE_ROWS_COMPRESSED_EVENT_V1";
    case kMariaDeleteRowsCompressedEventV1: return "DELETE_ROWS_COMPRESSED_EVENT_V1";
    case kMariaWriteRowsCompressedEvent: return "WRITE_ROWS_COMPRESSED_EVENT";
    case kMariaUpdateRowsCompressedEvent: return "UPDATE_ROWS_COMPRESSED_EVENT";
    case kMariaDeleteRowsCompressedEvent: return "DELETE_ROWS_COMPRESSED_EVENT";
    default: return "unknown event type";
  }
}

}  // namespace rowpipe::binlog
