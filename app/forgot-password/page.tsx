import type { Metadata } from "next";
import { AuthShell } from "@/app/_components/auth-shell";
import { ForgotPasswordForm } from "@/app/_components/email-flows";
import { Alert } from "@/app/_components/ui";
import { mailEnabled } from "@/lib/mail/transport";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Reset your password" };

export default function ForgotPasswordPage() {
  return (
    <AuthShell title="Reset your password">
      {mailEnabled() ? (
        <ForgotPasswordForm />
      ) : (
        <Alert>This Pagoda server is not set up to send email, so it cannot reset passwords. Ask its administrator.</Alert>
      )}
    </AuthShell>
  );
}
