// Checks an RFC 4998 Evidence Record with Bouncy Castle's independent ERS implementation
// (org.bouncycastle.tsp.ers, Debian's libbcpkix-java): the interop test of e-hramba.
//
// usage: java -cp BC_JARS:. ErsVerify ER_FILE TSA_CERT.pem FILE...
//   FILEs are the unit's files (the data group, two or more); prints PASS or FAIL: reason,
//   exits 0 or 1.
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.ers.ERSData;
import org.bouncycastle.tsp.ers.ERSDataGroup;
import org.bouncycastle.tsp.ers.ERSEvidenceRecord;
import org.bouncycastle.tsp.ers.ERSFileData;

public class ErsVerify {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: ErsVerify ER_FILE TSA_CERT.pem FILE FILE...");
            System.exit(2);
        }
        List<ERSData> members = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            members.add(new ERSFileData(new File(args[i])));
        }
        X509Certificate cert;
        try (InputStream in = new FileInputStream(args[1])) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        try {
            ERSEvidenceRecord record = new ERSEvidenceRecord(
                Files.readAllBytes(new File(args[0]).toPath()),
                new JcaDigestCalculatorProviderBuilder().build());
            record.validatePresent(new ERSDataGroup(members), new Date());
            record.validate(new JcaSimpleSignerInfoVerifierBuilder().build(cert));
            System.out.println("PASS " + args[0]);
        } catch (Exception e) {
            System.out.println("FAIL: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
