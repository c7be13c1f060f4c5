package io.splitinfer.channelsim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Impairment;
import io.splitinfer.core.channel.Scenario;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.TensorFormatException;
import io.splitinfer.proto.v1.ChannelStatistics;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.Tensor;
import io.splitinfer.proto.v1.UeMessage;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The state channel-sim owns: the parameters in force (by hand or from a scenario), the {@link
 * ChannelModel} and its random state, and statistics. Applies the channel to uplink frames of the
 * {@code Session} stream and computes downlink retransmission delays. Thread-safe.
 */
public final class ChannelSimulator {
  private final ChannelModel model;
  private final List<Consumer<ChannelParams>> listeners = new CopyOnWriteArrayList<>();
  private ChannelParams base;
  private Scenario.Cursor scenario;
  private SplittableRandom jitterRng;

  private long messages;
  private long packets;
  private long packetsLost;
  private long retransmissions;
  private double signalEnergy;
  private double errorEnergy;
  private long bytesUp;
  private long bytesDown;
  private long passthrough;

  private final Counter mPackets;
  private final Counter mLost;
  private final Counter mRetx;
  private final Counter mBytesUp;
  private final Counter mBytesDown;
  private final Counter mMessages;
  private final Counter mPassthrough;
  private final DistributionSummary mSnr;

  public ChannelSimulator(ChannelParams params, MeterRegistry registry) {
    this.base = params;
    this.model = new ChannelModel(params);
    this.jitterRng = new SplittableRandom(params.seed() ^ 0x9E3779B97F4A7C15L);
    mPackets =
        Counter.builder("channelsim_packets").description("uplink packets").register(registry);
    mLost =
        Counter.builder("channelsim_packets_lost").description("packets lost").register(registry);
    mRetx =
        Counter.builder("channelsim_retransmissions")
            .description("ARQ re-sends")
            .register(registry);
    mBytesUp = Counter.builder("channelsim_bytes").tag("direction", "up").register(registry);
    mBytesDown = Counter.builder("channelsim_bytes").tag("direction", "down").register(registry);
    mMessages =
        Counter.builder("channelsim_impaired_messages")
            .description("hidden states and pilots impaired")
            .register(registry);
    mPassthrough =
        Counter.builder("channelsim_passthrough_messages")
            .description("messages forwarded unchanged")
            .register(registry);
    mSnr =
        DistributionSummary.builder("channelsim_delivered_snr_db")
            .description("delivered SNR of impaired messages, dB (finite values only)")
            .register(registry);
  }

  /** The parameters in force now. */
  public synchronized ChannelParams params() {
    return scenario != null ? scenario.current() : base;
  }

  /** Replaces the parameters by hand (ends any scenario). */
  public void setParams(ChannelParams p) {
    synchronized (this) {
      if (p.seed() != params().seed()) {
        jitterRng = new SplittableRandom(p.seed() ^ 0x9E3779B97F4A7C15L);
      }
      base = p.toBuilder().scenario("static").build();
      scenario = null;
      model.setParams(base);
    }
    fire();
  }

  /** Starts a scenario over the current base parameters; seed 0 = the parameters' seed. */
  public ChannelParams loadScenario(Scenario s, long seed) {
    ChannelParams p;
    synchronized (this) {
      long sd = seed != 0 ? seed : base.seed();
      scenario = s.start(base.toBuilder().seed(sd).build(), sd);
      model.reseed(sd);
      jitterRng = new SplittableRandom(sd ^ 0x9E3779B97F4A7C15L);
      p = scenario.advance(); // tick 0 is the moment of loading; each hidden state is a tick
      model.setParams(p);
    }
    fire();
    return p;
  }

  public void addListener(Consumer<ChannelParams> l) {
    listeners.add(l);
  }

  public void removeListener(Consumer<ChannelParams> l) {
    listeners.remove(l);
  }

  private void fire() {
    ChannelParams p = params();
    for (Consumer<ChannelParams> l : listeners) {
      l.accept(p);
    }
  }

  /** A processed uplink frame. */
  public record Uplink(byte[] bytes, double extraDelayMs, boolean impaired) {}

  /**
   * Applies the channel to one serialized UeMessage of the Session stream. HiddenState and Pilot
   * tensors are impaired (pilots always with the RAW receiver); anything else, and anything that
   * does not parse or decode, is returned byte-identical.
   */
  public Uplink uplinkSession(byte[] frame) {
    countUp(frame.length);
    UeMessage msg;
    try {
      msg = UeMessage.parseFrom(frame);
    } catch (InvalidProtocolBufferException e) {
      return passthrough(frame);
    }
    boolean changed = false;
    ChannelParams p;
    synchronized (this) {
      p = params();
      if (msg.hasHidden() && scenario != null) {
        ChannelParams before = p;
        p = scenario.advance();
        model.setParams(p);
        changed = !p.equals(before);
      }
    }
    if (changed) {
      fire();
    }
    if (!(msg.hasHidden() || msg.hasPilot()) || p.leavesValuesUntouched()) {
      return passthrough(frame);
    }
    Tensor t = msg.hasHidden() ? msg.getHidden().getTensor() : msg.getPilot().getSamples();
    float[] v;
    long[] shape;
    try {
      v = TensorCodec.decode(t);
      shape = TensorCodec.shape(t);
    } catch (TensorFormatException e) {
      return passthrough(frame); // the edge answers INVALID_ARGUMENT
    }
    int bpe = TensorCodec.bytesPerElement(t.getDtype());
    Impairment imp =
        msg.hasHidden()
            ? model.impair(v, 0, v.length, bpe, p.receiver())
            : model.impair(v, 0, v.length, bpe, ChannelParams.Receiver.RAW);
    Tensor out = TensorCodec.encode(v, t.getDtype(), shape);
    UeMessage rebuilt;
    if (msg.hasHidden()) {
      HiddenState.Builder h = msg.getHidden().toBuilder().setTensor(out);
      // packet boundaries always travel, so the receiver can count lost packets (all-zero under
      // zero-fill) for its loss estimate
      h.setPacketElements(imp.packetElements());
      if (p.lossPolicy() == ChannelParams.LossPolicy.ERASURE) {
        h.setErasureMask(ByteString.copyFrom(imp.erasureMask()));
      }
      rebuilt = UeMessage.newBuilder().setHidden(h).build();
    } else {
      Pilot.Builder pl =
          msg.getPilot().toBuilder()
              .setSamples(out)
              .setErasureMask(ByteString.copyFrom(imp.erasureMask()))
              .setPacketElements(imp.packetElements());
      rebuilt = UeMessage.newBuilder().setPilot(pl).build();
    }
    record(imp);
    return new Uplink(rebuilt.toByteArray(), imp.extraDelayMs(), true);
  }

  private Uplink passthrough(byte[] frame) {
    synchronized (this) {
      passthrough++;
    }
    mPassthrough.increment();
    return new Uplink(frame, 0, false);
  }

  private void record(Impairment imp) {
    synchronized (this) {
      messages++;
      packets += imp.packets();
      packetsLost += imp.packetsLost();
      retransmissions += imp.retransmissions();
      signalEnergy += imp.signalEnergy();
      errorEnergy += imp.errorEnergy();
    }
    mMessages.increment();
    mPackets.increment(imp.packets());
    mLost.increment(imp.packetsLost());
    mRetx.increment(imp.retransmissions());
    double snr = imp.deliveredSnrDb();
    if (Double.isFinite(snr)) {
      mSnr.record(snr);
    }
  }

  /** Counts an uplink frame of any RPC that is not impaired. */
  public void countUp(long bytes) {
    synchronized (this) {
      bytesUp += bytes;
    }
    mBytesUp.increment(bytes);
  }

  /** Counts a downlink frame and returns its extra (retransmission) delay in ms. */
  public double downlink(long bytes) {
    synchronized (this) {
      bytesDown += bytes;
    }
    mBytesDown.increment(bytes);
    return model.transmitDownlink(bytes).extraDelayMs();
  }

  /** Uniform jitter in [−j, j] ms from the seeded jitter stream. */
  public synchronized double jitterMs(double j) {
    return j > 0 ? (2 * jitterRng.nextDouble() - 1) * j : 0;
  }

  public synchronized ChannelStatistics statistics() {
    double snr = Impairment.snrDb(signalEnergy, errorEnergy);
    return ChannelStatistics.newBuilder()
        .setMessages(messages)
        .setPackets(packets)
        .setPacketsLost(packetsLost)
        .setRetransmissions(retransmissions)
        .setDeliveredSnrDb(snr)
        .setBytesUp(bytesUp)
        .setBytesDown(bytesDown)
        .setPassthroughMessages(passthrough)
        .build();
  }
}
