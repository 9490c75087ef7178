import type { Metadata } from "next";
import { StyleNonce } from "@/app/_components/style-nonce";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Pagoda", template: "%s · Pagoda" },
  description: "Drop a zip, get a URL: static sites on your own Kubernetes.",
};

export default function RootLayout({ children }: Readonly<{ children: React.ReactNode }>) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <StyleNonce />
        {children}
      </body>
    </html>
  );
}
