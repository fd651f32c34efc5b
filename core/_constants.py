"""MLflow Tracing's exact attribute keys and constants, so MLflow servers and UIs read our traces."""

from __future__ import annotations


class SpanType:
    """The kind of work a span represents. Any other string is allowed as a custom type."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    UNKNOWN = "UNKNOWN"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"


class SpanAttributeKey:
    """Span attribute keys, with MLflow's exact strings."""

    REQUEST_ID = "mlflow.traceRequestId"
    SPAN_TYPE = "mlflow.spanType"
    INPUTS = "mlflow.spanInputs"
    OUTPUTS = "mlflow.spanOutputs"
    FUNCTION_NAME = "mlflow.spanFunctionName"
    DESCRIPTION = "mlflow.spanDescription"
    LOG_LEVEL = "mlflow.spanLogLevel"
    EXPERIMENT_ID = "mlflow.experimentId"
    START_TIME_NS = "mlflow.spanStartTimeNs"
    CHAT_TOOLS = "mlflow.chat.tools"
    CHAT_USAGE = "mlflow.chat.tokenUsage"
    LLM_COST = "mlflow.llm.cost"
    MODEL = "mlflow.llm.model"
    MODEL_PROVIDER = "mlflow.llm.provider"
    MESSAGE_FORMAT = "mlflow.message.format"
    INTERMEDIATE_OUTPUTS = "mlflow.trace.intermediate_outputs"
    LINKED_PROMPTS = "mlflow.linkedPrompts"
    USER_ID = "user.id"
    SESSION_ID = "session.id"


class TokenUsageKey:
    """Keys inside a ``mlflow.chat.tokenUsage`` value and the trace-level aggregate."""

    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    TOTAL_TOKENS = "total_tokens"
    CACHE_READ_INPUT_TOKENS = "cache_read_input_tokens"
    CACHE_CREATION_INPUT_TOKENS = "cache_creation_input_tokens"
    CACHE_CREATION_INPUT_TOKENS_ABOVE_1HR = "cache_creation_input_tokens_above_1hr"
    REASONING_TOKENS = "reasoning_tokens"

    @classmethod
    def all_keys(cls) -> list[str]:
        """Return every usage key, the three totals first."""
        return [
            cls.INPUT_TOKENS,
            cls.OUTPUT_TOKENS,
            cls.TOTAL_TOKENS,
            cls.CACHE_READ_INPUT_TOKENS,
            cls.CACHE_CREATION_INPUT_TOKENS,
            cls.CACHE_CREATION_INPUT_TOKENS_ABOVE_1HR,
            cls.REASONING_TOKENS,
        ]


class TraceMetadataKey:
    """Trace metadata keys written by the tracer."""

    SCHEMA_VERSION = "mlflow.trace_schema.version"
    INPUTS = "mlflow.traceInputs"
    OUTPUTS = "mlflow.traceOutputs"
    TOKEN_USAGE = "mlflow.trace.tokenUsage"
    COST = "mlflow.trace.cost"
    TRACE_USER = "mlflow.trace.user"
    TRACE_SESSION = "mlflow.trace.session"
    SOURCE_RUN = "mlflow.sourceRun"
    MODEL_ID = "mlflow.modelId"
    SIZE_BYTES = "mlflow.trace.sizeBytes"


class TraceTagKey:
    """Trace tag keys written by the tracer."""

    TRACE_NAME = "mlflow.traceName"
    LINKED_PROMPTS = "mlflow.linkedPrompts"


TRACE_REQUEST_ID_PREFIX = "tr-"
TRACE_SCHEMA_VERSION = 3
NO_OP_SPAN_TRACE_ID = "MLFLOW_NO_OP_SPAN_TRACE_ID"
STREAM_CHUNK_EVENT_NAME_FORMAT = "mlflow.chunk.item.{index}"
STREAM_CHUNK_EVENT_VALUE_KEY = "mlflow.chunk.value"
MAX_CHARS_IN_TRACE_INFO_METADATA = 250
MAX_CHARS_IN_PREVIEW = 1000
TRUNCATION_SUFFIX = "..."
DEFAULT_EXPERIMENT_ID = "0"
