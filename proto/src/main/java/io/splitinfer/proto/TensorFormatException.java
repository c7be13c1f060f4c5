package io.splitinfer.proto;

/** A tensor message that cannot be read as it claims; the message is a status description. */
public class TensorFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public TensorFormatException(String message) {
    super(message);
  }
}
