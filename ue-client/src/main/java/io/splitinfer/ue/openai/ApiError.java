package io.splitinfer.ue.openai;

/**
 * An OpenAI-style error answer: HTTP status plus the {@code error} object's type, code, param and
 * message. Thrown by request parsing and by backends; {@link OpenAiServer} writes it as JSON.
 */
public final class ApiError extends RuntimeException {
  private final int status;
  private final String type;
  private final String code;
  private final String param;

  public ApiError(int status, String type, String code, String param, String message) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }

  /** 400 invalid_request_error for {@code param}. */
  public static ApiError badParam(String param, String message) {
    return new ApiError(400, "invalid_request_error", "invalid_value", param, message);
  }

  /** 400 for a body that is not the JSON object an endpoint expects. */
  public static ApiError badRequest(String code, String message) {
    return new ApiError(400, "invalid_request_error", code, null, message);
  }

  /** 503: the edge server cannot be reached or has no room. */
  public static ApiError edgeUnavailable(String message) {
    return new ApiError(503, "service_unavailable", "edge_unavailable", null, message);
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }

  public String param() {
    return param;
  }
}
