package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GRPCAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.splitinfer.channelsim.ChannelSimMain;
import io.splitinfer.controller.ControllerMain;
import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.edge.EdgeServerMain;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Parses every manifest under {@code deploy/k8s/} with fabric8's Kubernetes model and checks it
 * against what the services actually expose, derived from the code, not from a copy of the
 * manifests: the container's arguments and environment are parsed by the service's own picocli
 * command with core {@code FlagDefaults} (an unknown flag or variable, or a bad value, fails), the
 * ports are the ones that configuration binds (and the Dockerfile exposes), the gRPC probes ask the
 * plaintext health port for the generated {@code SERVICE_NAME} the server reports SERVING (the
 * servers' own tests check that it does: {@code HealthPortTest} in each module), the TLS files are
 * those {@code scripts/gen-certs.sh} writes, mounted from a secret, and cross-references (Service
 * selectors and target ports, the controller and advertised addresses) resolve.
 */
class KubernetesManifestsTest {
  /** A service image: its module (directory with the Dockerfile), command and gRPC service. */
  private record Role(
      String module, Supplier<CommandLine> command, String subcommand, String grpc) {}

  private static final Map<String, Role> ROLES =
      Map.of(
          "edge-server",
          new Role(
              "edge-server",
              () -> new CommandLine(new EdgeServerMain()),
              null,
              SplitInferenceGrpc.SERVICE_NAME),
          "controller",
          new Role(
              "controller", ControllerMain::commandLine, "serve", SplitControllerGrpc.SERVICE_NAME),
          "channel-sim",
          new Role(
              "channel-sim",
              () -> new CommandLine(new ChannelSimMain()),
              "serve",
              ChannelControlGrpc.SERVICE_NAME));

  private static final Pattern IMAGE = Pattern.compile("splitinfer/([a-z-]+):[A-Za-z0-9._-]+");
  private static final Pattern REF = Pattern.compile("\\$\\(([A-Z0-9_]+)\\)");

  private static Path root;
  private static final List<HasMetadata> objects = new ArrayList<>();

  @BeforeAll
  static void parse() throws IOException {
    root = RepoPaths.root();
    KubernetesSerialization k8s = new KubernetesSerialization();
    List<Path> files;
    try (Stream<Path> s = Files.list(root.resolve("deploy/k8s"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no manifests in deploy/k8s");
    for (Path f : files) {
      try (InputStream in = Files.newInputStream(f)) {
        Object o = k8s.unmarshal(in);
        if (o instanceof KubernetesList l) {
          objects.addAll(l.getItems());
        } else if (o instanceof List<?> l) {
          l.forEach(x -> objects.add((HasMetadata) x));
        } else {
          objects.add((HasMetadata) o);
        }
      }
    }
  }

  /** A workload's pod template with its kind, name and the pod name it runs under. */
  private record Workload(String kind, String name, PodTemplateSpec pod, String podName) {}

  private static List<Workload> workloads() {
    List<Workload> w = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (o instanceof Deployment d) {
        w.add(
            new Workload(
                "Deployment",
                d.getMetadata().getName(),
                d.getSpec().getTemplate(),
                d.getMetadata().getName() + "-5d8f9c7b6-x2k4q"));
      } else if (o instanceof StatefulSet s) {
        w.add(
            new Workload(
                "StatefulSet",
                s.getMetadata().getName(),
                s.getSpec().getTemplate(),
                s.getMetadata().getName() + "-0"));
      }
    }
    return w;
  }

  private static <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  @Test
  void everyObjectIsInTheNamespaceAndTheWorkloadsExist() {
    Set<String> kinds = new HashSet<>();
    for (HasMetadata o : objects) {
      kinds.add(o.getKind());
      if (!o.getKind().equals("Namespace")) {
        assertEquals("splitinfer", o.getMetadata().getNamespace(), o.getKind() + " namespace");
      }
    }
    assertTrue(kinds.containsAll(Set.of("Namespace", "Deployment", "StatefulSet", "Service")));
    Set<String> images = new HashSet<>();
    workloads()
        .forEach(
            w -> w.pod().getSpec().getContainers().forEach(c -> images.add(module(c.getImage()))));
    assertEquals(ROLES.keySet(), images, "every service image is deployed");
  }

  /** The module of an image name, checked against the repository (it has a Dockerfile). */
  private static String module(String image) {
    Matcher m = IMAGE.matcher(image);
    assertTrue(m.matches(), "image " + image + " is splitinfer/<module>:<tag>");
    assertTrue(
        Files.isRegularFile(root.resolve(m.group(1)).resolve("Dockerfile")),
        "image " + image + ": no " + m.group(1) + "/Dockerfile");
    return m.group(1);
  }

  @Test
  void containersParseAsTheServicesConfigurationAndProbeTheirHealthPort() throws IOException {
    int checked = 0;
    for (Workload w : workloads()) {
      assertEquals(
          10001L, w.pod().getSpec().getSecurityContext().getRunAsUser(), "Dockerfile's user");
      for (Container c : w.pod().getSpec().getContainers()) {
        String where = w.kind() + " " + w.name() + " container " + c.getName();
        Role role = ROLES.get(module(c.getImage()));
        Map<String, String> env = env(c, w.podName(), where);
        CommandSpec spec = parse(role, c.getArgs(), env, where);
        Set<String> dockerEnv = dockerfileEnv(role.module());
        for (String name : env.keySet()) {
          assertTrue(
              envNames(spec).contains(name) || dockerEnv.contains(name),
              where + ": " + name + " is neither a flag of " + role.module() + " nor in its image");
        }
        int grpcPort = HostPort.parse(value(spec, "--listen"), "--listen").port();
        int metricsPort = Integer.parseInt(value(spec, "--metrics-port"));
        int healthPort = Integer.parseInt(value(spec, "--health-port"));
        assertTrue(healthPort > 0, where + ": HEALTH_PORT must be set for the probes");
        Set<Integer> declared = new HashSet<>();
        for (ContainerPort p : c.getPorts()) {
          declared.add(p.getContainerPort());
        }
        assertEquals(Set.of(grpcPort, metricsPort, healthPort), declared, where + " ports");
        Set<Integer> exposed = dockerfileExpose(role.module());
        assertTrue(
            exposed.containsAll(Set.of(grpcPort, metricsPort)),
            where + ": ports " + grpcPort + ", " + metricsPort + " not EXPOSEd in " + exposed);
        for (Probe p : new Probe[] {c.getReadinessProbe(), c.getLivenessProbe()}) {
          assertNotNull(p, where + ": readiness and liveness probes");
          GRPCAction g = p.getGrpc();
          assertNotNull(g, where + ": probes are gRPC health probes");
          assertEquals(healthPort, g.getPort(), where + ": probe on the health port");
          assertEquals(role.grpc(), g.getService(), where + ": the service the server reports");
        }
        if (c.getStartupProbe() != null) {
          assertEquals(healthPort, c.getStartupProbe().getGrpc().getPort());
          assertEquals(role.grpc(), c.getStartupProbe().getGrpc().getService());
        }
        checkTls(w, c, env, where);
        checkResources(c, where);
        checked++;
      }
    }
    assertEquals(3, checked, "controller, edge-server, channel-sim containers");
  }

  private static void checkResources(Container c, String where) {
    Map<String, Quantity> req = c.getResources().getRequests();
    Map<String, Quantity> lim = c.getResources().getLimits();
    assertNotNull(req, where + ": resource requests");
    assertNotNull(req.get("memory"), where + ": memory request");
    assertNotNull(req.get("cpu"), where + ": cpu request");
    assertNotNull(lim.get("memory"), where + ": memory limit");
    assertTrue(
        Quantity.getAmountInBytes(lim.get("memory"))
                .compareTo(Quantity.getAmountInBytes(req.get("memory")))
            >= 0,
        where + ": limit >= request");
  }

  /** TLS files are gen-certs.sh's, of one role, under a read-only mount of a secret volume. */
  private static void checkTls(Workload w, Container c, Map<String, String> env, String where)
      throws IOException {
    Set<String> written = new HashSet<>(Set.of("ca.pem"));
    String script = Files.readString(root.resolve("scripts/gen-certs.sh"));
    Matcher loop = Pattern.compile("for svc in ([a-z -]+); do").matcher(script);
    assertTrue(loop.find(), "gen-certs.sh's role loop");
    for (String svc : loop.group(1).trim().split(" +")) {
      written.add(svc + ".pem");
      written.add(svc + ".key");
    }
    List<String> keys = List.of("TLS_CERT", "TLS_KEY", "TLS_CA");
    for (String k : keys) {
      String path = env.get(k);
      assertNotNull(path, where + ": " + k + " (every link runs TLS)");
      Path p = Path.of(path);
      assertTrue(written.contains(p.getFileName().toString()), where + ": " + path);
      VolumeMount m =
          c.getVolumeMounts().stream()
              .filter(v -> p.startsWith(v.getMountPath()))
              .findFirst()
              .orElseThrow(() -> new AssertionError(where + ": " + path + " is not mounted"));
      assertTrue(Boolean.TRUE.equals(m.getReadOnly()), where + ": certificates mounted read-only");
      Volume v =
          w.pod().getSpec().getVolumes().stream()
              .filter(x -> x.getName().equals(m.getName()))
              .findFirst()
              .orElseThrow();
      assertNotNull(v.getSecret(), where + ": " + m.getName() + " is a secret volume");
    }
    String cert = Path.of(env.get("TLS_CERT")).getFileName().toString();
    String key = Path.of(env.get("TLS_KEY")).getFileName().toString();
    assertEquals(
        cert.replace(".pem", ""), key.replace(".key", ""), where + ": cert and key of one role");
    assertEquals("true", env.get("TLS_CLIENT_AUTH"), where + ": mutual TLS, as in compose");
  }

  /** The container's environment, $(VAR) references and the pod name resolved. */
  private static Map<String, String> env(Container c, String podName, String where) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar e : c.getEnv()) {
      String v;
      if (e.getValueFrom() != null) {
        assertEquals(
            "metadata.name",
            e.getValueFrom().getFieldRef().getFieldPath(),
            where + ": only the pod name comes from the downward API");
        v = podName;
      } else {
        Matcher m = REF.matcher(e.getValue());
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
          String ref = env.get(m.group(1));
          assertNotNull(ref, where + ": " + e.getName() + " refers to undefined " + m.group(0));
          m.appendReplacement(sb, Matcher.quoteReplacement(ref));
        }
        m.appendTail(sb);
        v = sb.toString();
      }
      assertTrue(env.put(e.getName(), v) == null, where + ": " + e.getName() + " twice");
    }
    return env;
  }

  /** The service's own command line, parsed with the container's args and environment. */
  private static CommandSpec parse(
      Role role, List<String> args, Map<String, String> env, String where) {
    CommandLine cmd = role.command().get();
    cmd.setDefaultValueProvider(new FlagDefaults(env, new Properties()));
    try {
      CommandLine.ParseResult r = cmd.parseArgs(args.toArray(String[]::new));
      if (role.subcommand() != null) {
        assertNotNull(r.subcommand(), where + ": args name the subcommand " + role.subcommand());
        assertEquals(role.subcommand(), r.subcommand().commandSpec().name());
        return r.subcommand().commandSpec();
      }
      return r.commandSpec();
    } catch (CommandLine.ParameterException e) {
      return fail(where + ": " + e.getMessage());
    }
  }

  private static Set<String> envNames(CommandSpec spec) {
    Set<String> names = new HashSet<>();
    for (OptionSpec o : spec.options()) {
      names.add(FlagDefaults.envName(o.longestName()));
    }
    return names;
  }

  private static String value(CommandSpec spec, String flag) {
    OptionSpec o = spec.findOption(flag);
    assertNotNull(o, spec.name() + " has no " + flag);
    Object v = o.getValue();
    assertNotNull(v, flag + " has a value");
    return v.toString();
  }

  private static Set<Integer> dockerfileExpose(String module) throws IOException {
    Set<Integer> ports = new HashSet<>();
    for (String line : Files.readAllLines(root.resolve(module).resolve("Dockerfile"))) {
      if (line.startsWith("EXPOSE ")) {
        for (String p : line.substring(7).trim().split("\\s+")) {
          ports.add(Integer.parseInt(p.replace("/tcp", "")));
        }
      }
    }
    return ports;
  }

  /** Variables the image itself sets (ENV lines of the runtime stage). */
  private static Set<String> dockerfileEnv(String module) throws IOException {
    Set<String> names = new HashSet<>();
    Matcher m =
        Pattern.compile("(?m)(?:^ENV |\\\\\\n\\s+)([A-Z_]+)=")
            .matcher(Files.readString(root.resolve(module).resolve("Dockerfile")));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  @Test
  void servicesSelectWorkloadsAndTargetTheirNamedPorts() {
    List<Service> services = all(Service.class);
    assertFalse(services.isEmpty());
    Set<String> selected = new HashSet<>();
    for (Service s : services) {
      Map<String, String> sel = s.getSpec().getSelector();
      List<Workload> hits =
          workloads().stream()
              .filter(w -> w.pod().getMetadata().getLabels().entrySet().containsAll(sel.entrySet()))
              .toList();
      assertEquals(
          1, hits.size(), "Service " + s.getMetadata().getName() + " selects one workload");
      selected.add(hits.get(0).name());
      Set<String> named = new HashSet<>();
      hits.get(0).pod().getSpec().getContainers().stream()
          .flatMap(c -> c.getPorts().stream())
          .forEach(p -> named.add(p.getName()));
      for (ServicePort p : s.getSpec().getPorts()) {
        assertTrue(
            named.contains(p.getTargetPort().getStrVal()),
            "Service " + s.getMetadata().getName() + " port " + p.getName());
      }
    }
    workloads().forEach(w -> assertTrue(selected.contains(w.name()), w.name() + " has a Service"));
    for (StatefulSet s : all(StatefulSet.class)) {
      Service headless =
          services.stream()
              .filter(x -> x.getMetadata().getName().equals(s.getSpec().getServiceName()))
              .findFirst()
              .orElseThrow(() -> new AssertionError("StatefulSet's serviceName"));
      assertEquals("None", headless.getSpec().getClusterIP(), "per-pod DNS needs a headless one");
    }
  }

  @Test
  void addressesResolveToTheServicesAndPortsThatServeThem() {
    Map<String, Map<String, String>> envByContainer = new LinkedHashMap<>();
    for (Workload w : workloads()) {
      for (Container c : w.pod().getSpec().getContainers()) {
        envByContainer.put(c.getName(), env(c, w.podName(), c.getName()));
      }
    }
    Map<String, String> edge = envByContainer.get("edge-server");
    Map<String, String> ctl = envByContainer.get("controller");
    Map<String, String> sim = envByContainer.get("channel-sim");
    // the edge reaches the controller through its Service, on the port the controller listens on
    HostPort c = HostPort.parse(edge.get("CONTROLLER"), "CONTROLLER");
    Service ctlService = serviceForDns(c.host());
    assertTrue(
        ctlService.getSpec().getPorts().stream()
            .anyMatch(
                p ->
                    p.getPort() == c.port()
                        && p.getPort() == HostPort.parse(ctl.get("LISTEN"), "LISTEN").port()),
        "CONTROLLER port");
    // the edge advertises its pod's channel-sim (the uplink) by the pod's own DNS name
    HostPort adv = HostPort.parse(edge.get("ADVERTISE"), "ADVERTISE");
    StatefulSet edges = all(StatefulSet.class).get(0);
    String pod = edges.getMetadata().getName() + "-0";
    assertEquals(
        pod + "." + edges.getSpec().getServiceName() + ".splitinfer.svc.cluster.local", adv.host());
    assertEquals(HostPort.parse(sim.get("LISTEN"), "LISTEN").port(), adv.port());
    assertEquals(pod, edge.get("EDGE_ID"), "the edge id is the pod name");
    // channel-sim forwards to the edge in its own pod
    HostPort fwd = HostPort.parse(sim.get("EDGE"), "EDGE");
    assertEquals("localhost", fwd.host());
    assertEquals(HostPort.parse(edge.get("LISTEN"), "LISTEN").port(), fwd.port());
  }

  private static Service serviceForDns(String host) {
    String[] parts = host.split("\\.");
    assertTrue(
        parts.length == 1 || host.endsWith(".svc.cluster.local"), host + " is a Service name");
    String name = parts[0];
    String ns = parts.length > 1 ? parts[1] : "splitinfer";
    return all(Service.class).stream()
        .filter(s -> s.getMetadata().getName().equals(name))
        .filter(s -> s.getMetadata().getNamespace().equals(ns))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no Service for " + host));
  }
}
