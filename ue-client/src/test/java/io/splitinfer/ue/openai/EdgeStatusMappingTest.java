package io.splitinfer.ue.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** How an edge session's gRPC status reaches the HTTP client. */
class EdgeStatusMappingTest {
  @Test
  void unreachableOrFullEdgeIs503BadInputIs400RestIs502() {
    assertEquals(503, status(Status.UNAVAILABLE.withDescription("io exception")));
    assertEquals(503, status(Status.DEADLINE_EXCEEDED));
    assertEquals(503, status(Status.RESOURCE_EXHAUSTED.withDescription("max sessions")));
    assertEquals(400, status(Status.INVALID_ARGUMENT.withDescription("token id out of range")));
    assertEquals(400, status(Status.OUT_OF_RANGE));
    assertEquals(502, status(Status.FAILED_PRECONDITION.withDescription("model mismatch")));
    assertEquals(502, status(Status.INTERNAL));
    ApiError e = SplitCompletionBackend.toApiError(Status.UNAVAILABLE.withDescription("refused"));
    assertEquals("edge_unavailable", e.code());
    assertEquals("the edge server is unreachable (UNAVAILABLE: refused)", e.getMessage());
  }

  private static int status(Status s) {
    return SplitCompletionBackend.toApiError(s).status();
  }
}
