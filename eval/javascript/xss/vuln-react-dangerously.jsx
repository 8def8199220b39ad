export function Bio({ profile }) {
  return <div className="bio" dangerouslySetInnerHTML={{ __html: profile.bio }} />;
}
